"""Writing in the notebook: append-only entries, corrections as new versions, files."""

import secrets

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.accounts.models import Role, User
from webapp.booking.models import Appointment, AppointmentStatus
from webapp.booking.visits import visit_has_begun
from webapp.crypto import encrypt
from webapp.extensions import db
from webapp.notebook import attachments, digest, kinds, signals
from webapp.notebook.errors import AlreadySuperseded, InvalidAppointmentLink, InvalidEntry, NotEntryAuthor
from webapp.notebook.models import AccessAction, Attachment, EntryKind, EntryMask, NotebookEntry
from webapp.notebook.permissions import NotebookAccess, log_access, writer_access
from webapp.notebook.rules import BODY_MAX, TITLE_MAX, is_db_id
from webapp.notebook.visibility import visible_entry


def _require_author_side(access: NotebookAccess, entry: NotebookEntry) -> None:
    if access.is_patient_side:
        allowed = entry.author_role is Role.PATIENT
    else:
        allowed = entry.author_user_id == access.user.id
    if not allowed:
        raise NotEntryAuthor()


def parse_kind(kind) -> EntryKind:
    try:
        return EntryKind(kind)
    except ValueError:
        raise InvalidEntry(fields={"kind": [str(_l("Unknown kind of entry."))]}) from None


def _validated_content(kind: EntryKind, title: str | None, body: str | None, data) -> tuple[str, str, dict | None]:
    title, body = (title or "").strip(), (body or "").strip()
    clean_data, problems = kinds.validate_data(kind, data)
    if len(title) > TITLE_MAX:
        problems["title"] = [str(_l("At most %(count)s characters.", count=TITLE_MAX))]
    if len(body) > BODY_MAX:
        problems["body"] = [str(_l("At most %(count)s characters.", count=BODY_MAX))]
    if not title and kind not in kinds.DATA_SCHEMAS:
        problems["title"] = [str(_l("A title is required."))]
    if problems:
        raise InvalidEntry(fields=problems)
    return title or kinds.default_title(kind, clean_data), body, clean_data


def _checked_appointment(access: NotebookAccess, appointment_id: int | None) -> int | None:
    if appointment_id is None:
        return None
    # One answer for every refusal (unknown, another patient's, cancelled, another
    # practitioner's): the link must not tell which appointments exist.
    appointment = db.session.get(Appointment, appointment_id) if is_db_id(appointment_id) else None
    if (
        appointment is None
        or appointment.patient_id != access.patient.id
        or appointment.status is AppointmentStatus.CANCELLED
        or (access.practitioner_id is not None and appointment.practitioner_id != access.practitioner_id)
    ):
        raise InvalidAppointmentLink(fields={"appointment_id": [str(InvalidAppointmentLink.default_message)]})
    if access.practitioner_id is not None and not visit_has_begun(appointment):
        message = str(_l("This visit has not started yet: write in the notebook during or after it."))
        raise InvalidAppointmentLink(message, fields={"appointment_id": [message]})
    return appointment.id


def _append(access: NotebookAccess, *, kind: EntryKind, title: str, body: str, data: dict | None,
            appointment_id: int | None, supersedes: NotebookEntry | None = None) -> NotebookEntry:
    entry = NotebookEntry(
        patient_id=access.patient.id, kind=kind, content=NotebookEntry.seal(title, body, data),
        author_user_id=access.user.id, author_role=access.actor_role,
        author_practitioner_id=None if access.is_patient_side else access.practitioner_id,
        appointment_id=appointment_id, supersedes_id=supersedes.id if supersedes else None,
    )
    if supersedes is not None:
        # A correction stays hidden from whoever the patient hid the original from.
        entry.masks = [EntryMask(practitioner_id=mask.practitioner_id) for mask in supersedes.masks]
    db.session.add(entry)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # Only the one-successor rule can fail here: someone corrected it at the same moment.
        raise AlreadySuperseded() from None
    digest.fold_entry(entry, data)
    log_access(access, AccessAction.SUPERSEDE_ENTRY if supersedes else AccessAction.ADD_ENTRY, entry.id)
    app = current_app._get_current_object()
    signals.entry_added.send(app, entry=entry, actor=access.user)
    if not access.is_patient_side:
        signals.practitioner_entry_added.send(app, entry=entry, actor=access.user)
    return entry


def add_entry(user: User, patient_id: int, *, kind, title: str | None, body: str | None,
              data: dict | None = None, appointment_id: int | None = None) -> NotebookEntry:
    """Append an entry. The patient side and treating practitioners write
    (not emergency access); structured kinds need valid data (units and
    plausible ranges for measurements); an appointment link must be a
    non-cancelled visit of this patient (with this practitioner, started)."""
    access = writer_access(user, patient_id)
    kind = parse_kind(kind)
    title, body, clean_data = _validated_content(kind, title, body, data)
    appointment_id = _checked_appointment(access, appointment_id)
    return _append(access, kind=kind, title=title, body=body, data=clean_data, appointment_id=appointment_id)


def entry_for_correction(user: User, patient_id: int, entry_id: int) -> NotebookEntry:
    """The entry the caller is about to correct, under the same rules as
    `supersede_entry` (logged as a read)."""
    access = writer_access(user, patient_id)
    entry = visible_entry(access, entry_id)
    _require_author_side(access, entry)
    if entry.is_superseded:
        raise AlreadySuperseded()
    log_access(access, AccessAction.VIEW_ENTRY, entry.id)
    return entry


def supersede_entry(user: User, patient_id: int, entry_id: int, *, title: str | None, body: str | None,
                    data: dict | None = None) -> NotebookEntry:
    """Correct an entry by appending a new version linked to it; the old one
    stays readable, marked as superseded. Only the author's side corrects
    (the practitioner who wrote it, or the patient side for its own entries),
    only the latest version, once. Without `data`, structured data is kept."""
    access = writer_access(user, patient_id)
    old = visible_entry(access, entry_id)
    _require_author_side(access, old)
    if old.is_superseded:
        raise AlreadySuperseded()
    title, body, clean_data = _validated_content(old.kind, title, body, old.data if data is None else data)
    return _append(access, kind=old.kind, title=title, body=body, data=clean_data,
                   appointment_id=old.appointment_id, supersedes=old)


def add_attachment(user: User, patient_id: int, entry_id: int, *, filename: str | None,
                   content: bytes) -> Attachment:
    """Attach a PDF, PNG or JPEG (type read from the bytes, never from the
    name) within the size limit, encrypted, under a random id. Only the
    entry's author side adds files, and only to its latest version."""
    access = writer_access(user, patient_id)
    entry = visible_entry(access, entry_id)
    _require_author_side(access, entry)
    if entry.is_superseded:
        raise AlreadySuperseded()
    content_type = attachments.checked_content_type(content, current_app.config["CARNET_NOTEBOOK_MAX_ATTACHMENT_BYTES"])
    attachment = Attachment(
        id=secrets.token_hex(16), entry_id=entry.id, content_type=content_type, size_bytes=len(content),
        filename=encrypt(attachments.safe_filename(filename, content_type).encode()), content=encrypt(content),
        author_user_id=user.id,
    )
    db.session.add(attachment)
    db.session.flush()
    log_access(access, AccessAction.ADD_ATTACHMENT, entry.id)
    return attachment
