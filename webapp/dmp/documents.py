"""A practitioner's notebook entry as the document pushed: a one-entry PDF and its metadata.

The snapshot is taken when the entry is written and stored encrypted in the
outbox; the bundle is built from it at each attempt, so every attempt sends
the same bytes.
"""

import base64
import datetime as dt
import io
import json
from html import escape

from flask_babel import format_date, format_datetime
from flask_babel import gettext as _

from webapp.crypto import decrypt, encrypt
from webapp.dmp.builder import Document, DocumentCode
from webapp.notebook.kinds import KIND_LABELS, data_lines
from webapp.notebook.models import EntryKind, NotebookEntry

PDF = "application/pdf"


def _text(value: str) -> str:
    return escape(value).replace("\n", "<br/>")


SEX_LABELS = {"male": "M", "female": "F"}


def _ins_line(ins: str, patient) -> str:
    """The INS and its traits, as the identity rules (RNIV) want them on a shared document."""
    sex = SEX_LABELS.get(patient.sex.value) if patient.sex is not None else None
    return _("INS: %(ins)s — %(family)s %(given)s, born on %(date)s, sex: %(sex)s", ins=ins,
             family=patient.last_name.upper(), given=patient.first_name, date=patient.birth_date.strftime("%d/%m/%Y"),
             sex=sex or "-")


def entry_pdf(entry: NotebookEntry, ins: str | None = None) -> bytes:
    """The entry alone as a PDF: kind, title, patient (with the INS and its
    traits when given), author, date, data and text."""
    # reportlab only where a document is made, not in every web worker (tests/test_worker_memory.py).
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm,
                                 bottomMargin=2 * cm, title=entry.title, author=entry.author_name, invariant=True)
    patient = entry.patient
    story = [
        Paragraph(_text(str(KIND_LABELS[entry.kind])), styles["Heading2"]),
        Paragraph(_text(entry.title), styles["Title"]),
        Paragraph(_text(_("Patient: %(name)s, born on %(date)s", name=patient.full_name,
                          date=format_date(patient.birth_date, "long"))), styles["BodyText"]),
        *([Paragraph(_text(_ins_line(ins, patient)), styles["BodyText"])] if ins else []),
        Paragraph(_text(_("Written by %(name)s on %(date)s", name=entry.author_name,
                          date=format_datetime(entry.created_at, "long"))), styles["BodyText"]),
        Spacer(1, 0.4 * cm),
    ]
    for label, value in data_lines(entry.kind, entry.data):
        story.append(Paragraph(f"<b>{_text(label)}</b> : {_text(value)}", styles["BodyText"]))
    if entry.body:
        story.append(Paragraph(_text(entry.body), styles["BodyText"]))
    document.build(story)
    return buffer.getvalue()


def seal_snapshot(entry: NotebookEntry, ins: str) -> bytes:
    """The encrypted snapshot of what will be pushed for `entry`."""
    practitioner = entry.author_practitioner
    patient = entry.patient
    service_start = entry.appointment.start_at if entry.appointment is not None else entry.created_at
    snapshot = {
        "ins": ins,
        "patient_family": patient.last_name,
        "patient_given": patient.first_name,
        "patient_birth_date": patient.birth_date.isoformat(),
        "patient_gender": patient.sex.value if patient.sex is not None else None,
        "kind": entry.kind.value,
        "author_rpps": practitioner.rpps,
        "author_family": practitioner.last_name,
        "author_given": practitioner.first_name,
        "title": entry.title,
        "content_type": PDF,
        "content": base64.b64encode(entry_pdf(entry, ins)).decode(),
        "created_at": entry.created_at.isoformat(),
        "service_start": service_start.isoformat(),
    }
    return encrypt(json.dumps(snapshot).encode())


def open_snapshot(payload: bytes, *, document_id: str, submitted_at: dt.datetime, codes: dict[EntryKind, DocumentCode],
                  masked: bool, replaces_document_id: str | None) -> Document:
    """The builder's input from a stored snapshot and what is known at send time."""
    snapshot = json.loads(decrypt(payload))
    return Document(
        document_id=document_id, ins=snapshot["ins"], author_rpps=snapshot["author_rpps"],
        author_family=snapshot["author_family"], author_given=snapshot["author_given"], title=snapshot["title"],
        content_type=snapshot["content_type"], content=base64.b64decode(snapshot["content"]),
        created_at=dt.datetime.fromisoformat(snapshot["created_at"]),
        service_start=dt.datetime.fromisoformat(snapshot["service_start"]),
        submitted_at=submitted_at, code=codes[EntryKind(snapshot["kind"])], masked=masked,
        replaces_document_id=replaces_document_id,
        patient_family=snapshot.get("patient_family"), patient_given=snapshot.get("patient_given"),
        patient_birth_date=dt.date.fromisoformat(snapshot["patient_birth_date"])
        if snapshot.get("patient_birth_date") else None,
        patient_gender=snapshot.get("patient_gender"),
    )
