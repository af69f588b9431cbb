"""Notebook factories: entries, attachments, treating practitioners, proxies (committed)."""

import datetime as dt
import secrets

from flask import current_app

from tests import factories
from tests.booking.factories import make_appointment
from webapp.accounts.models import PatientProxy, Role
from webapp.booking.models import AppointmentStatus
from webapp.crypto import encrypt
from webapp.extensions import db
from webapp.notebook.kinds import default_title, validate_data
from webapp.notebook.models import Attachment, EntryKind, EntryMask, NotebookEntry, Revocation

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def past(days: int) -> dt.datetime:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    return moment.replace(minute=0, second=0, microsecond=0)


def make_treating_practitioner(patient, **overrides):
    """A practitioner who saw the patient in a completed visit 30 days ago."""
    practitioner = factories.make_practitioner(**overrides)
    make_appointment(practitioner, patient, past(30), status=AppointmentStatus.COMPLETED)
    return practitioner


def make_proxy_user(patient):
    """A patient account (a parent...) acting for this patient profile."""
    proxy = factories.make_patient().account
    db.session.add(PatientProxy(user=proxy, patient=patient))
    db.session.commit()
    return proxy


def _default_title(kind, data) -> str:
    with current_app.test_request_context():  # titles are translated: they need a locale
        return default_title(kind, data)


def make_entry(patient, *, author=None, kind=EntryKind.NOTE, title="Consultation", body="Tout va bien.",
               data=None, **overrides) -> NotebookEntry:
    """An entry written straight to the database; `author` is a User (default: the patient's account)."""
    author = author or patient.account
    kind = EntryKind(kind)
    clean_data, problems = validate_data(kind, data)
    assert not problems, problems
    practitioner = author.practitioner_profile if author.role is Role.PRACTITIONER else None
    entry = NotebookEntry(
        patient_id=patient.id, kind=kind,
        content=NotebookEntry.seal(title or _default_title(kind, clean_data), body, clean_data),
        author_user_id=author.id, author_role=Role.PRACTITIONER if practitioner else Role.PATIENT,
        author_practitioner_id=practitioner.id if practitioner else None, **overrides,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def make_measurement(patient, measurement_type="weight", value=80.0, unit="kg", *, days_ago=0, **overrides):
    data = {"type": measurement_type, "value": value, "unit": unit, "measured_at": past(days_ago).isoformat()}
    return make_entry(patient, kind=EntryKind.MEASUREMENT, title="", data=data, **overrides)


def make_attachment(entry, content: bytes = PDF_BYTES, filename: str = "compte-rendu.pdf",
                    content_type: str = "application/pdf") -> Attachment:
    attachment = Attachment(
        id=secrets.token_hex(16), entry_id=entry.id, content_type=content_type, size_bytes=len(content),
        filename=encrypt(filename.encode()), content=encrypt(content), author_user_id=entry.author_user_id,
    )
    db.session.add(attachment)
    db.session.commit()
    return attachment


def mask_entry(entry, practitioner) -> None:
    db.session.add(EntryMask(entry_id=entry.id, practitioner_id=practitioner.id))
    db.session.commit()


def revoke(patient, practitioner) -> None:
    db.session.add(Revocation(patient_id=patient.id, practitioner_id=practitioner.id))
    db.session.commit()


EMERGENCY_REASON = "Patient inconscient aux urgences"


def emergency_request(patient, user=None, **overrides) -> dict:
    """The fields of an emergency access request that names `patient` (as the
    service takes them), with a fresh TOTP code of `user` if they have one."""
    code = factories.totp_now(user) if user is not None and user.totp_secret else "000000"
    return {"reason": EMERGENCY_REASON, "first_name": patient.first_name, "last_name": patient.last_name,
            "birth_date": patient.birth_date, "totp": code} | overrides


def emergency_json(patient, user=None, **overrides) -> dict:
    """The same request as the API's JSON body."""
    body = emergency_request(patient, user, **overrides)
    return body | {"birth_date": body["birth_date"].isoformat()}
