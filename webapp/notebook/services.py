"""Notebook rules: who reads and writes, append-only entries, attachments,
masking and sharing (emergency access locked or not), the access log, measurements, export.

Every public function takes the acting user and checks access first:
- the patient side (the profile's own account and the accounts acting for
  it) reads and writes everything and manages sharing and masking;
- a practitioner reads once a visit with the patient has begun, or from a
  booking the patient side shared the notebook with, and writes only with a
  begun visit (booking's rule: `webapp.booking.visits`); never once the
  patient revoked them, and never the entries masked from them (their own
  entries excepted);
- a practitioner holding an unexpired emergency grant reads, never writes
  (grants: `webapp.notebook.emergency`);
- a practitioner who is not verified gets `PractitionerNotVerified` (403)
  for any notebook, before anything is looked up;
- anyone else (clinic staff included) gets `NotFound`, exactly as for a
  notebook that does not exist.
Reads and writes by anyone but the patient side go to the access log.
Services flush but never commit; the caller wraps them in `transaction()`.
"""

import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from webapp.accounts.models import PatientProfile, PractitionerProfile, Role, User
from webapp.accounts.relatives import acting_patient_ids, can_act_for_patient
from webapp.accounts.verification import require_verified
from webapp.audit.services import record_event
from webapp.booking.models import Appointment, AppointmentStatus
from webapp.booking.treating import treated_patient_ids
from webapp.booking.visits import notebook_standing, readable_patient_ids, visit_has_begun
from webapp.crypto import encrypt
from webapp.db import now_utc
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db
from webapp.notebook import attachments, digest, export_fhir, export_pdf, kinds, signals
from webapp.notebook.digest import CurrentItem
from webapp.notebook.errors import (
    AlreadySuperseded,
    AuthorAlwaysSees,
    InvalidAppointmentLink,
    InvalidEntry,
    NotEntryAuthor,
    PatientSideOnly,
    ReadOnlyAccess,
    UnknownPractitioner,
    VisitNotBegun,
)
from webapp.notebook.models import (
    AccessAction,
    AccessLogEntry,
    Attachment,
    EmergencyAccess,
    EntryKind,
    EntryMask,
    NotebookEntry,
    NotebookSettings,
    Revocation,
)
from webapp.paging import paginate

EMERGENCY_ALLOWED, EMERGENCY_LOCKED = "allowed", "locked"
TITLE_MAX = 200
BODY_MAX = 20_000
REASON_MIN, REASON_MAX = 10, 500
MAX_DB_ID = 2**31 - 1
SUMMARY_KINDS = (EntryKind.ALLERGY, EntryKind.TREATMENT, EntryKind.VACCINATION)

# What a page of entries shows (the timeline, the API's list): no masks. The
# to-one relations are joined to the page's query (each is unique, so no row
# repeats): 4 statements per page instead of 7, and on B4 (SQLite) 2.5 ms of
# CPU to load a page of 20 instead of 3.0 ms, three round trips fewer on PostgreSQL.
TIMELINE_LOADING = (
    joinedload(NotebookEntry.author).joinedload(User.patient_profile),
    joinedload(NotebookEntry.author_practitioner),
    joinedload(NotebookEntry.superseded_by),
    selectinload(NotebookEntry.attachments),
    selectinload(NotebookEntry.appointment),
)
# One entry: also who it is hidden from.
ENTRY_LOADING = (*TIMELINE_LOADING, selectinload(NotebookEntry.masks).selectinload(EntryMask.practitioner))
# What the exports read: no visit links nor masks, the files' content.
EXPORT_LOADING = (
    selectinload(NotebookEntry.author).selectinload(User.patient_profile),
    selectinload(NotebookEntry.author_practitioner),
    selectinload(NotebookEntry.attachments).undefer(Attachment.content),
    selectinload(NotebookEntry.superseded_by),
)


@dataclass(frozen=True)
class NotebookAccess:
    """What the acting user may do with one patient's notebook."""

    user: User
    patient: PatientProfile
    is_patient_side: bool
    practitioner_id: int | None = None
    emergency: EmergencyAccess | None = None
    # A practitioner writes only once a visit of theirs with the patient has begun.
    has_begun_visit: bool = False

    @property
    def can_write(self) -> bool:
        return self.is_patient_side or (self.emergency is None and self.has_begun_visit)

    @property
    def actor_role(self) -> Role:
        return Role.PATIENT if self.is_patient_side else Role.PRACTITIONER


@dataclass
class Summary:
    """The current state derived from the entries (corrected versions excluded)."""

    allergies: list[CurrentItem] = field(default_factory=list)
    treatments: list[CurrentItem] = field(default_factory=list)
    vaccinations: list[CurrentItem] = field(default_factory=list)


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    mimetype: str
    filename: str


@dataclass
class SharingOverview:
    patient: PatientProfile
    candidates: list[PractitionerProfile]
    revoked_ids: set[int]
    emergency_grants: list[EmergencyAccess]
    emergency_access_locked: bool


@dataclass(frozen=True)
class Sharing:
    """Who may not open the notebook: revoked practitioners, and whether
    emergency access is `"allowed"` or `"locked"`."""

    revoked_practitioner_ids: list[int]
    emergency_access: str


@dataclass
class NotebookPage:
    access: NotebookAccess
    entries: dict
    summary: Summary
    measurements: list[dict]
    recent_access_log: list[AccessLogEntry]


def _is_db_id(value) -> bool:
    return isinstance(value, int) and 0 < value <= MAX_DB_ID


def local_today() -> dt.date:
    return dt.datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


# --- access -----------------------------------------------------------------

def _is_revoked(patient_id: int, practitioner_id: int) -> bool:
    return db.session.get(Revocation, (patient_id, practitioner_id)) is not None


def _active_emergency_grant(patient_id: int, practitioner_id: int) -> EmergencyAccess | None:
    return db.session.scalar(
        sa.select(EmergencyAccess)
        .where(EmergencyAccess.patient_id == patient_id, EmergencyAccess.practitioner_id == practitioner_id,
               EmergencyAccess.expires_at > now_utc())
        .order_by(EmergencyAccess.expires_at.desc())
        .limit(1)
    )


def notebook_access(user: User | None, patient_id: int) -> NotebookAccess:
    """The caller's access to a patient's notebook, or `NotFound` (see module rules)."""
    if user is None or not user.is_authenticated:
        raise NotFound()
    require_verified(user)  # first: a pending practitioner learns nothing about which ids exist
    if not _is_db_id(patient_id):
        raise NotFound()
    patient = db.session.get(PatientProfile, patient_id)
    if patient is None:
        raise NotFound()
    if user.role is Role.PATIENT and can_act_for_patient(user, patient_id):
        return NotebookAccess(user, patient, is_patient_side=True)
    profile = user.practitioner_profile if user.role is Role.PRACTITIONER else None
    if profile is None or _is_revoked(patient_id, profile.id):
        raise NotFound()
    standing = notebook_standing(profile.id, patient_id)
    if standing.may_read:
        return NotebookAccess(user, patient, is_patient_side=False, practitioner_id=profile.id,
                              has_begun_visit=standing.may_write)
    grant = _active_emergency_grant(patient_id, profile.id)
    if grant is None:
        raise NotFound()
    return NotebookAccess(user, patient, is_patient_side=False, practitioner_id=profile.id, emergency=grant)


def _patient_side_access(user: User, patient_id: int) -> NotebookAccess:
    access = notebook_access(user, patient_id)
    if not access.is_patient_side:
        raise PatientSideOnly()
    return access


def writer_access(user: User, patient_id: int) -> NotebookAccess:
    """The caller's access when it may write in the notebook: the patient
    side, or a practitioner with a begun visit (403 to an emergency access
    or to a notebook shared ahead of the visit; 404 to anyone who cannot read)."""
    access = notebook_access(user, patient_id)
    if access.emergency is not None:
        raise ReadOnlyAccess()
    if not access.can_write:
        raise VisitNotBegun()
    return access


def _log(access: NotebookAccess, action: AccessAction, entry_id: int | None = None) -> None:
    if access.is_patient_side:
        return
    db.session.add(AccessLogEntry(
        patient_id=access.patient.id, actor_user_id=access.user.id, actor_role=access.user.role,
        action=action, entry_id=entry_id, emergency=access.emergency is not None,
    ))


def _visible_entries(access: NotebookAccess) -> sa.Select:
    statement = sa.select(NotebookEntry).where(NotebookEntry.patient_id == access.patient.id)
    if access.practitioner_id is not None:
        masked = sa.exists().where(EntryMask.entry_id == NotebookEntry.id,
                                   EntryMask.practitioner_id == access.practitioner_id)
        statement = statement.where(sa.or_(~masked, NotebookEntry.author_user_id == access.user.id))
    return statement


def _visible_entry(access: NotebookAccess, entry_id: int) -> NotebookEntry:
    entry = db.session.scalar(
        _visible_entries(access).where(NotebookEntry.id == entry_id).options(*ENTRY_LOADING)
    ) if _is_db_id(entry_id) else None
    if entry is None:
        raise NotFound()
    return entry


def _require_author_side(access: NotebookAccess, entry: NotebookEntry) -> None:
    if access.is_patient_side:
        allowed = entry.author_role is Role.PATIENT
    else:
        allowed = entry.author_user_id == access.user.id
    if not allowed:
        raise NotEntryAuthor()


# --- writing ----------------------------------------------------------------

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
    appointment = db.session.get(Appointment, appointment_id) if _is_db_id(appointment_id) else None
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
    _log(access, AccessAction.SUPERSEDE_ENTRY if supersedes else AccessAction.ADD_ENTRY, entry.id)
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
    entry = _visible_entry(access, entry_id)
    _require_author_side(access, entry)
    if entry.is_superseded:
        raise AlreadySuperseded()
    _log(access, AccessAction.VIEW_ENTRY, entry.id)
    return entry


def supersede_entry(user: User, patient_id: int, entry_id: int, *, title: str | None, body: str | None,
                    data: dict | None = None) -> NotebookEntry:
    """Correct an entry by appending a new version linked to it; the old one
    stays readable, marked as superseded. Only the author's side corrects
    (the practitioner who wrote it, or the patient side for its own entries),
    only the latest version, once. Without `data`, structured data is kept."""
    access = writer_access(user, patient_id)
    old = _visible_entry(access, entry_id)
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
    entry = _visible_entry(access, entry_id)
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
    _log(access, AccessAction.ADD_ATTACHMENT, entry.id)
    return attachment


# --- reading ----------------------------------------------------------------

def list_entries(user: User, patient_id: int, *, kind=None, page: int = 1, per_page: int = 20) -> dict:
    """The entries the caller may see, newest first, one page (logged as a read)."""
    access = notebook_access(user, patient_id)
    result = _entries_page(access, kind=kind, page=page, per_page=per_page)
    _log(access, AccessAction.VIEW_NOTEBOOK)
    return result


def _entries_page(access: NotebookAccess, *, kind, page: int, per_page: int) -> dict:
    statement = _visible_entries(access).options(*TIMELINE_LOADING).order_by(
        NotebookEntry.created_at.desc(), NotebookEntry.id.desc())
    if kind:
        statement = statement.where(NotebookEntry.kind == parse_kind(kind))
    return paginate(statement, page=page, per_page=per_page)


def get_entry(user: User, patient_id: int, entry_id: int) -> NotebookEntry:
    """One entry the caller may see (logged as a read)."""
    access = notebook_access(user, patient_id)
    entry = _visible_entry(access, entry_id)
    _log(access, AccessAction.VIEW_ENTRY, entry.id)
    return entry


def entry_versions(user: User, patient_id: int, entry_id: int) -> tuple[NotebookAccess, list[NotebookEntry]]:
    """An entry's whole correction chain the caller may see, oldest first
    (logged as a read of the requested entry)."""
    access = notebook_access(user, patient_id)
    entry = _visible_entry(access, entry_id)
    _log(access, AccessAction.VIEW_ENTRY, entry.id)
    versions = [entry]
    while versions[0].supersedes_id is not None:
        older = db.session.scalar(_visible_entries(access).where(NotebookEntry.id == versions[0].supersedes_id)
                                  .options(*ENTRY_LOADING))
        if older is None:
            break
        versions.insert(0, older)
    while versions[-1].superseded_by is not None:
        newer = db.session.scalar(_visible_entries(access).where(NotebookEntry.id == versions[-1].superseded_by.id)
                                  .options(*ENTRY_LOADING))
        if newer is None:
            break
        versions.append(newer)
    return access, versions


def get_attachment(user: User, patient_id: int, entry_id: int, attachment_id: str) -> Attachment:
    """A file of an entry the caller may see (logged as a read)."""
    access = notebook_access(user, patient_id)
    entry = _visible_entry(access, entry_id)
    attachment = next((item for item in entry.attachments if item.id == attachment_id), None)
    if attachment is None:
        raise NotFound()
    _log(access, AccessAction.VIEW_ATTACHMENT, entry.id)
    return attachment


def _masked_ids(access: NotebookAccess) -> set[int]:
    """The entries hidden from the caller (none for the patient side)."""
    if access.practitioner_id is None:
        return set()
    return set(db.session.scalars(
        sa.select(EntryMask.entry_id).join(NotebookEntry, NotebookEntry.id == EntryMask.entry_id)
        .where(NotebookEntry.patient_id == access.patient.id, EntryMask.practitioner_id == access.practitioner_id,
               NotebookEntry.author_user_id != access.user.id)
    ))


def _page_items(access: NotebookAccess) -> list[CurrentItem]:
    """The current summary entries and the latest measurements of each type the
    caller may see (masking applied)."""
    items = digest.summary_items(access.patient.id)
    masked = _masked_ids(access)
    hidden_types = {item.data["type"] for item in items if item.kind is EntryKind.MEASUREMENT and item.id in masked}
    if hidden_types:
        # Latest points hidden from the caller leave room for older ones: read those whole series.
        items = [item for item in items
                 if item.kind is not EntryKind.MEASUREMENT or item.data["type"] not in hidden_types]
        items += digest.measurement_items(access.patient.id, sorted(hidden_types))
    return [item for item in items if item.id not in masked] if masked else items


def _measurement_points(items: list[CurrentItem]) -> list[dict]:
    points = [
        {"at": dt.datetime.fromisoformat(item.data["measured_at"]), "value": item.data["value"],
         "unit": item.data["unit"], "type": item.data["type"], "entry_id": item.id}
        for item in items if item.kind is EntryKind.MEASUREMENT
    ]
    return sorted(points, key=lambda point: (point["at"], point["entry_id"]))


def _measurement_reader(user: User, patient_id: int,
                        measurement_type: str | None) -> tuple[NotebookAccess, list[str]]:
    """The caller's access (logged as a read of the measurements) and the
    series a request of `measurement_type` reads."""
    if measurement_type is not None and measurement_type not in kinds.ENTRY_MEASUREMENT_TYPES:
        raise InvalidEntry(fields={"type": [str(_l("Unknown measurement type."))]})
    access = notebook_access(user, patient_id)
    _log(access, AccessAction.VIEW_MEASUREMENTS)
    if measurement_type == kinds.BLOOD_PRESSURE:
        return access, sorted(kinds.BLOOD_PRESSURE_SERIES.values())
    return access, [measurement_type] if measurement_type else sorted(kinds.MEASUREMENT_TYPES)


def _visible_measurements(user: User, patient_id: int,
                          measurement_type: str | None) -> tuple[NotebookAccess, list[CurrentItem]]:
    access, series = _measurement_reader(user, patient_id, measurement_type)
    items = digest.measurement_items(access.patient.id, series)
    masked = _masked_ids(access)
    return access, [item for item in items if item.id not in masked] if masked else items


def measurement_history(user: User, patient_id: int, *,
                        measurement_type: str | None = None) -> tuple[NotebookAccess, list[dict]]:
    """Current measurements the caller may see, oldest first, optionally of
    one type, with the caller's access (logged as a read of the measurements)."""
    access, items = _visible_measurements(user, patient_id, measurement_type)
    return access, _measurement_points(items)


def _api_points(items: list[CurrentItem]) -> list[dict]:
    points = [{"at": data["measured_at"], "value": float(data["value"]), "unit": data["unit"], "type": data["type"],
               "entry_id": item_id} for item_id, _, data in items]
    return sorted(points, key=lambda point: (point["at"], point["entry_id"]))


def _encoded_points(items: list[CurrentItem]) -> bytes:
    return json.dumps(_api_points(items), separators=(",", ":")).encode()


def list_measurements(user: User, patient_id: int, *, measurement_type: str | None = None) -> list[dict]:
    """Current measurements the caller may see, oldest first, optionally of
    one type (logged), as the API writes them (`schemas.MeasurementSchema`).

    A series holds thousands of points: the times pass through as stored, an
    ISO 8601 string in UTC (`kinds.MeasurementDataSchema`), which also sorts
    as the times do."""
    return _api_points(_visible_measurements(user, patient_id, measurement_type)[1])


def measurements_json(user: User, patient_id: int, *, measurement_type: str | None = None) -> bytes:
    """`list_measurements` encoded as a JSON array, under the same rules.

    A reader with no entry masked from them (the patient side, most
    practitioners) gets the encoding the digest keeps (`digest.encoded_measurements`:
    the current points only, dropped when a measurement is appended or
    corrected); a reader with masked entries gets theirs filtered and encoded
    on each request, so a stored encoding never shows them a masked value."""
    access, series = _measurement_reader(user, patient_id, measurement_type)
    masked = _masked_ids(access)
    if not masked:
        return digest.encoded_measurements(access.patient.id, measurement_type or "all", series, _encoded_points)
    return _encoded_points([item for item in digest.measurement_items(access.patient.id, series)
                            if item.id not in masked])


def _summary(items: list[CurrentItem]) -> Summary:
    summary = Summary()
    today = local_today()
    latest_vaccination: dict[str, CurrentItem] = {}
    for item in items:
        data = item.data
        if item.kind is EntryKind.ALLERGY and data["status"] == "active":
            summary.allergies.append(item)
        elif item.kind is EntryKind.TREATMENT and (data["end"] is None or dt.date.fromisoformat(data["end"]) >= today):
            summary.treatments.append(item)
        elif item.kind is EntryKind.VACCINATION:
            key = data["vaccine"].casefold()
            if key not in latest_vaccination or data["date"] >= latest_vaccination[key].data["date"]:
                latest_vaccination[key] = item
    summary.allergies.sort(key=lambda item: item.data["substance"].casefold())
    summary.treatments.sort(key=lambda item: item.data["drug"].casefold())
    summary.vaccinations = sorted(latest_vaccination.values(), key=lambda item: item.data["date"], reverse=True)
    return summary


def _recent_access_log(access: NotebookAccess, limit: int) -> list[AccessLogEntry]:
    return list(db.session.scalars(_access_log_query(access.patient.id).limit(limit)))


def notebook_page(user: User, patient_id: int, *, kind=None, page: int = 1, per_page: int = 20,
                  access_log_size: int = 10) -> NotebookPage:
    """Everything the notebook page shows, in a constant number of queries
    and one decryption per entry shown plus one for the digest's summary: one
    page of entries, the current summary, the latest measurements of each type
    for the charts and, for the patient side, the latest access-log lines."""
    access = notebook_access(user, patient_id)
    items = _page_items(access)
    result = NotebookPage(
        access=access,
        entries=_entries_page(access, kind=kind, page=page, per_page=per_page),
        summary=_summary(items),
        measurements=_measurement_points(items),
        recent_access_log=_recent_access_log(access, access_log_size) if access.is_patient_side else [],
    )
    _log(access, AccessAction.VIEW_NOTEBOOK)
    return result


# --- the patient's controls -------------------------------------------------

def _access_log_query(patient_id: int) -> sa.Select:
    return (
        sa.select(AccessLogEntry).where(AccessLogEntry.patient_id == patient_id)
        .options(selectinload(AccessLogEntry.actor).selectinload(User.practitioner_profile))
        .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
    )


def list_access_log(user: User, patient_id: int, *, page: int = 1, per_page: int = 20) -> dict:
    """Who read or wrote the notebook, newest first (patient side only)."""
    access = _patient_side_access(user, patient_id)
    return paginate(_access_log_query(access.patient.id), page=page, per_page=per_page)


def _treating_practitioners(patient_id: int) -> sa.Select:
    # booking's rule, correlated on each practitioner: "has or had a visit with this patient".
    return sa.select(PractitionerProfile.id).where(
        sa.literal(patient_id).in_(treated_patient_ids(PractitionerProfile.id)))


def is_practitioner_revoked(patient_id: int, practitioner_id: int) -> bool:
    """Whether the patient withdrew this practitioner's access (for features
    above the notebook that must not act for a revoked practice)."""
    return _is_revoked(patient_id, practitioner_id)


def log_profile_claimed(patient_id: int, user: User) -> None:
    """Record in the access log that `user` claimed the profile with their own
    account (an invitation): the claim is visible in the notebook's history."""
    db.session.add(AccessLogEntry(patient_id=patient_id, actor_user_id=user.id, actor_role=user.role,
                                  action=AccessAction.PROFILE_CLAIMED))


def revoked_practitioner_ids(patient_id: int) -> list[int]:
    return list(db.session.scalars(
        sa.select(Revocation.practitioner_id).where(Revocation.patient_id == patient_id)
        .order_by(Revocation.practitioner_id)
    ))


def _sharing_candidates(patient_id: int) -> list[PractitionerProfile]:
    revoked = sa.select(Revocation.practitioner_id).where(Revocation.patient_id == patient_id)
    return list(db.session.scalars(
        sa.select(PractitionerProfile)
        .where(sa.or_(PractitionerProfile.id.in_(_treating_practitioners(patient_id)),
                      PractitionerProfile.id.in_(revoked)))
        .order_by(PractitionerProfile.last_name, PractitionerProfile.first_name)
    ))


def sharing_candidates(user: User, patient_id: int) -> list[PractitionerProfile]:
    """The practitioners the patient side can revoke or hide entries from:
    those who treat or treated the patient, and those already revoked."""
    return _sharing_candidates(_patient_side_access(user, patient_id).patient.id)


def is_emergency_access_locked(patient_id: int) -> bool:
    """Whether the patient side refuses every emergency access to this notebook."""
    return bool(db.session.scalar(
        sa.select(NotebookSettings.emergency_access_locked).where(NotebookSettings.patient_id == patient_id)))


def _emergency_access_setting(patient_id: int) -> str:
    return EMERGENCY_LOCKED if is_emergency_access_locked(patient_id) else EMERGENCY_ALLOWED


def sharing_overview(user: User, patient_id: int) -> SharingOverview:
    """The sharing page: candidates, who is revoked, every emergency access and
    whether it is locked (patient side only)."""
    access = _patient_side_access(user, patient_id)
    grants = list(db.session.scalars(
        sa.select(EmergencyAccess).where(EmergencyAccess.patient_id == access.patient.id)
        .options(selectinload(EmergencyAccess.practitioner))
        .order_by(EmergencyAccess.granted_at.desc())
    ))
    return SharingOverview(access.patient, _sharing_candidates(access.patient.id),
                           set(revoked_practitioner_ids(access.patient.id)), grants,
                           is_emergency_access_locked(access.patient.id))


def get_sharing(user: User, patient_id: int) -> Sharing:
    """The practitioners the patient revoked and the emergency access setting (patient side only)."""
    access = _patient_side_access(user, patient_id)
    return Sharing(revoked_practitioner_ids(access.patient.id), _emergency_access_setting(access.patient.id))


def _existing_practitioner_ids(practitioner_ids, field_name: str) -> set[int]:
    wanted = set(practitioner_ids)
    found = set(db.session.scalars(sa.select(PractitionerProfile.id).where(
        PractitionerProfile.id.in_([pid for pid in wanted if _is_db_id(pid)]))))
    if found != wanted:
        raise UnknownPractitioner(fields={field_name: [str(UnknownPractitioner.default_message)]})
    return found


def _set_emergency_access(patient_id: int, setting: str) -> None:
    settings = db.session.get(NotebookSettings, patient_id)
    if settings is None:
        settings = NotebookSettings(patient_id=patient_id)
        db.session.add(settings)
    settings.emergency_access_locked = setting == EMERGENCY_LOCKED


def set_sharing(user: User, patient_id: int, revoked_ids, *, emergency_access: str | None = None) -> Sharing:
    """Replace the set of revoked practitioners and, if given, the emergency
    access setting (`"allowed"` or `"locked"`), patient side only. A revoked
    practitioner can no longer read or write, even in an emergency; a locked
    notebook refuses every emergency access."""
    access = _patient_side_access(user, patient_id)
    if emergency_access not in (None, EMERGENCY_ALLOWED, EMERGENCY_LOCKED):
        raise InvalidEntry(fields={"emergency_access": [str(_l("Choose allowed or locked."))]})
    wanted = _existing_practitioner_ids(revoked_ids, "revoked_practitioner_ids")
    current = set(revoked_practitioner_ids(access.patient.id))
    current_setting = _emergency_access_setting(access.patient.id)
    setting = emergency_access or current_setting
    if current - wanted:
        db.session.execute(sa.delete(Revocation).where(
            Revocation.patient_id == access.patient.id, Revocation.practitioner_id.in_(current - wanted)))
    db.session.add_all(Revocation(patient_id=access.patient.id, practitioner_id=practitioner_id)
                       for practitioner_id in wanted - current)
    if setting != current_setting:
        _set_emergency_access(access.patient.id, setting)
    db.session.flush()
    if wanted != current or setting != current_setting:
        record_event("notebook.sharing_changed", actor=user, target_type="patient_profile", target_id=access.patient.id,
                     details={"revoked_practitioner_ids": sorted(wanted), "emergency_access": setting})
    return Sharing(sorted(wanted), setting)


def get_masking(user: User, patient_id: int, entry_id: int) -> NotebookEntry:
    """An entry with the practitioners it is hidden from (patient side only)."""
    return _visible_entry(_patient_side_access(user, patient_id), entry_id)


def _correction_chain(entry: NotebookEntry) -> list[NotebookEntry]:
    """The entry and every version before and after it."""
    chain = [entry]
    while chain[0].supersedes is not None:
        chain.insert(0, chain[0].supersedes)
    while chain[-1].superseded_by is not None:
        chain.append(chain[-1].superseded_by)
    return chain


def masking_candidates(user: User, patient_id: int, entry: NotebookEntry) -> list[PractitionerProfile]:
    """Whom the patient side may hide an entry from: the sharing candidates but its author."""
    return [practitioner for practitioner in sharing_candidates(user, patient_id)
            if practitioner.id != entry.author_practitioner_id]


def set_masking(user: User, patient_id: int, entry_id: int, hidden_from_ids) -> NotebookEntry:
    """Replace the practitioners an entry is hidden from (patient side only).

    The author always keeps seeing what they wrote, so hiding from them is
    refused. Masks apply to the whole correction chain: every version is the
    same piece of information, and no version points to one its reader cannot see."""
    access = _patient_side_access(user, patient_id)
    entry = _visible_entry(access, entry_id)
    wanted = _existing_practitioner_ids(hidden_from_ids, "hidden_from_practitioner_ids")
    if entry.author_practitioner_id in wanted:
        raise AuthorAlwaysSees(fields={"hidden_from_practitioner_ids": [str(AuthorAlwaysSees.default_message)]})
    current = {mask.practitioner_id for mask in entry.masks}
    for version in _correction_chain(entry):
        kept = [mask for mask in version.masks if mask.practitioner_id in wanted]
        missing = wanted - {mask.practitioner_id for mask in kept}
        version.masks = kept + [EntryMask(practitioner_id=practitioner_id) for practitioner_id in sorted(missing)]
    db.session.flush()
    if wanted != current:
        record_event("notebook.masking_changed", actor=user, target_type="notebook_entry", target_id=entry.id,
                     details={"patient_id": access.patient.id, "hidden_from_practitioner_ids": sorted(wanted)})
    return entry


# --- lists for the pages ----------------------------------------------------

def acting_profiles(user: User) -> list[PatientProfile]:
    """The notebooks a patient account keeps: its own and its relatives'."""
    ids = acting_patient_ids(user) if user.role is Role.PATIENT else set()
    return list(db.session.scalars(
        sa.select(PatientProfile).where(PatientProfile.id.in_(ids)).order_by(PatientProfile.birth_date)
    ))


def treated_patients(user: User) -> list[PatientProfile]:
    """A practitioner's patients whose notebook they may open now: a visit has
    begun or the patient shared the notebook ahead (not revoked)."""
    return list(db.session.scalars(search_treated_patients(user)))


def search_treated_patients(user: User, *, text: str = "", birth_date: dt.date | None = None) -> sa.Select:
    """The practitioner's patients (as `treated_patients`) whose first or last
    name contains every word of `text` and, if given, born on `birth_date`;
    a SELECT ordered by name, to page."""
    profile = user.practitioner_profile if user.role is Role.PRACTITIONER else None
    if profile is None:
        raise Forbidden()
    require_verified(profile)
    revoked = sa.select(Revocation.patient_id).where(Revocation.practitioner_id == profile.id)
    statement = sa.select(PatientProfile).where(
        PatientProfile.id.in_(readable_patient_ids(profile.id)), PatientProfile.id.not_in(revoked))
    for word in text.split():
        statement = statement.where(sa.or_(PatientProfile.first_name.icontains(word, autoescape=True),
                                           PatientProfile.last_name.icontains(word, autoescape=True)))
    if birth_date is not None:
        statement = statement.where(PatientProfile.birth_date == birth_date)
    return statement.order_by(PatientProfile.last_name, PatientProfile.first_name, PatientProfile.id)


def check_export_allowed(user: User, patient_id: int) -> None:
    """Refuse (404 or 403) whoever `export_notebook` would refuse, without exporting anything."""
    _patient_side_access(user, patient_id)


def export_notebook(user: User, patient_id: int, export_format: str) -> ExportFile:
    """The whole notebook, every version and file included, as a PDF or a
    FHIR R4 Bundle (JSON). Only the patient side exports. The PDF opens on a
    summary of the current allergies, treatments, vaccinations and measurements."""
    access = _patient_side_access(user, patient_id)
    entries = list(db.session.scalars(
        _visible_entries(access)
        .options(*EXPORT_LOADING).order_by(NotebookEntry.created_at, NotebookEntry.id)
    ))
    generated_at = now_utc()
    stem = f"carnet-{access.patient.id}-{generated_at:%Y%m%d}"
    if export_format == "pdf":
        current = [CurrentItem(entry.id, entry.kind, entry.data) for entry in entries
                   if entry.data and not entry.is_superseded]
        return ExportFile(export_pdf.notebook_pdf(access.patient, entries, generated_at, _summary(current)),
                          "application/pdf", f"{stem}.pdf")
    if export_format == "fhir":
        return ExportFile(export_fhir.notebook_bundle_json(access.patient, entries, generated_at),
                          "application/fhir+json", f"{stem}.fhir.json")
    raise InvalidEntry(fields={"format": [str(_l("Choose pdf or fhir."))]})
