"""A patient's data rights: the whole account as one archive, and closing the account.

The archive (GDPR art. 15 and 20) is a ZIP of JSON files plus each
notebook's FHIR R4 Bundle. Closing the account (art. 17) erases what French
law lets us erase and keeps, pseudonymised where it can be, what it obliges
us to keep; README "Data retention and deletion" states the policy.
"""

import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass

import sqlalchemy as sa

from webapp.accounts.models import ApiToken, PatientProfile, PatientProxy, Role, User
from webapp.accounts.password_changes import revoke_all_access
from webapp.accounts.relatives import acting_patient_ids
from webapp.api.models import IdempotencyKey
from webapp.audit.models import AuditEvent
from webapp.audit.services import record_event
from webapp.booking.appointments import appointments_of
from webapp.booking.models import Appointment, WaitlistEntry, WaitlistStatus
from webapp.db import now_utc
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db
from webapp.notebook import controls, exports
from webapp.notebook.models import EntryMask, NotebookEntry
from webapp.notifications.models import (
    Notification,
    NotificationPreference,
    NotificationPreferenceChange,
    NotificationStatus,
)
from webapp.notifications.services import notification_preferences
from webapp.privacy.errors import UpcomingAppointments

ARCHIVE_FORMAT_VERSION = 1
# Never a valid argon2 hash: no password matches it again.
CLOSED_PASSWORD_HASH = "!closed"  # nosec B105  # a marker that no password hash can equal, not a secret
# The access log is read through the notebook's own paged service (which
# checks who may read it) rather than queried here, a page at a time.
ACCESS_LOG_PAGE = 100


@dataclass(frozen=True)
class Archive:
    content: bytes
    filename: str


def _patient_account(user: User) -> User:
    if user.role is not Role.PATIENT:
        raise Forbidden()
    if not user.is_active:
        raise NotFound()  # a closed account has nothing left to export or close
    return user


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _profiles(user: User) -> list[PatientProfile]:
    return list(db.session.scalars(
        sa.select(PatientProfile).where(PatientProfile.id.in_(acting_patient_ids(user))).order_by(PatientProfile.id)
    ))


def _account_json(user: User) -> dict:
    tokens = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    return {
        "id": user.id, "email": user.email, "role": str(user.role), "locale": user.locale,
        "created_at": _iso(user.created_at), "email_confirmed_at": _iso(user.email_confirmed_at),
        "two_factor_enabled_at": _iso(user.totp_enabled_at), "password_changed_at": _iso(user.password_changed_at),
        "api_tokens": [{"id": token.id, "created_at": _iso(token.created_at), "expires_at": _iso(token.expires_at),
                        "revoked_at": _iso(token.revoked_at), "last_used_at": _iso(token.last_used_at)}
                       for token in tokens],
    }


def _profile_json(user: User, profile: PatientProfile) -> dict:
    return {
        "id": profile.id, "relationship": "self" if profile.account_id == user.id else "relative",
        "first_name": profile.first_name, "last_name": profile.last_name,
        "birth_date": _iso(profile.birth_date), "email": profile.email, "phone": profile.phone,
        "created_at": _iso(profile.created_at),
    }


def _appointment_json(appointment: Appointment) -> dict:
    practitioner = appointment.practitioner
    return {
        "id": appointment.id, "patient_id": appointment.patient_id,
        "practitioner": {"id": practitioner.id, "name": practitioner.full_name, "specialty": practitioner.specialty,
                         "address": practitioner.address, "postcode": practitioner.postcode,
                         "city": practitioner.city},
        "visit_reason": appointment.visit_reason.label,
        "start": _iso(appointment.start_at), "end": _iso(appointment.end_at), "status": str(appointment.status),
        "message": appointment.message, "booked_at_desk": appointment.booked_at_desk,
        "created_at": _iso(appointment.created_at), "cancelled_at": _iso(appointment.cancelled_at),
        "cancel_reason": appointment.cancel_reason,
    }


def _appointments_json(user: User) -> list[dict]:
    # Through booking's own query, so the export shows exactly the
    # appointments the account sees (its own and its relatives').
    appointments = [*db.session.scalars(appointments_of(user, "upcoming")).unique(),
                    *db.session.scalars(appointments_of(user, "past")).unique()]
    return [_appointment_json(appointment) for appointment in sorted(appointments, key=lambda a: (a.start_at, a.id))]


def _waitlist_json(patient_ids: set[int]) -> list[dict]:
    entries = db.session.scalars(
        sa.select(WaitlistEntry).where(WaitlistEntry.patient_id.in_(patient_ids)).order_by(WaitlistEntry.id))
    return [{"id": entry.id, "patient_id": entry.patient_id, "practitioner_id": entry.practitioner_id,
             "visit_reason": entry.visit_reason.label, "before": _iso(entry.before_at), "status": str(entry.status),
             "offered_start": _iso(entry.offered_start_at), "created_at": _iso(entry.created_at)}
            for entry in entries]


def _access_log_json(user: User, patient_id: int) -> list[dict]:
    rows, page = [], 1
    while True:
        result = controls.list_access_log(user, patient_id, page=page, per_page=ACCESS_LOG_PAGE)
        rows += [{"at": _iso(row.at), "patient_id": row.patient_id,
                  "actor": {"id": row.actor_user_id, "name": row.actor_name, "role": str(row.actor_role)},
                  "action": str(row.action), "entry_id": row.entry_id, "emergency": row.emergency}
                 for row in result["items"]]
        if page * ACCESS_LOG_PAGE >= result["total"]:
            return rows
        page += 1


def _notification_settings_json(user: User) -> dict:
    changes = db.session.scalars(sa.select(NotificationPreferenceChange)
                                 .where(NotificationPreferenceChange.user_id == user.id)
                                 .order_by(NotificationPreferenceChange.id))
    return {
        "current": [{"category": str(category), "channel": str(channel), "enabled": enabled}
                    for (category, channel), enabled in notification_preferences(user.id).items()],
        "changes": [{"category": str(change.category), "channel": str(change.channel), "enabled": change.is_enabled,
                     "changed_by_user_id": change.changed_by_id, "changed_at": _iso(change.changed_at)}
                    for change in changes],
    }


def _consents_json(user: User, patient_ids: set[int]) -> list[dict]:
    """Per notebook: who may not read it, which entries are hidden from whom, every emergency access."""
    masks = db.session.execute(
        sa.select(EntryMask.entry_id, EntryMask.practitioner_id, EntryMask.created_at, NotebookEntry.patient_id)
        .join(NotebookEntry, NotebookEntry.id == EntryMask.entry_id)
        .where(NotebookEntry.patient_id.in_(patient_ids)).order_by(EntryMask.entry_id, EntryMask.practitioner_id)
    ).all()
    consents = []
    for patient_id in sorted(patient_ids):
        overview = controls.sharing_overview(user, patient_id)
        consents.append({
            "patient_id": patient_id,
            "notebook_revoked_practitioner_ids": sorted(overview.revoked_ids),
            "emergency_access": "locked" if overview.emergency_access_locked else "allowed",
            "notebook_entry_masks": [{"entry_id": m.entry_id, "hidden_from_practitioner_id": m.practitioner_id,
                                      "since": _iso(m.created_at)} for m in masks if m.patient_id == patient_id],
            "emergency_accesses": [{"practitioner_id": grant.practitioner_id,
                                    "practitioner": grant.practitioner.full_name,
                                    "reason": grant.stated_reason, "granted_at": _iso(grant.granted_at),
                                    "expires_at": _iso(grant.expires_at)} for grant in overview.emergency_grants],
        })
    return consents


def _security_log_json(user: User) -> list[dict]:
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(sa.or_(AuditEvent.actor_id == user.id,
                      sa.and_(AuditEvent.target_type == "user", AuditEvent.target_id == str(user.id))))
        .order_by(AuditEvent.id)
    )
    return [{"at": _iso(event.occurred_at), "action": event.action, "ip": event.ip, "user_agent": event.user_agent,
             "details": event.details} for event in events]


def _dump(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode()


def export_account(user: User) -> Archive:
    """Everything Carnet holds about a patient account, as a ZIP of JSON files
    plus one FHIR R4 Bundle per notebook it keeps (its own and its relatives').

    Rules: patients only (403 for other roles); the export is audited
    (`privacy.exported`). Callers put it behind re-authentication."""
    user = _patient_account(user)
    profiles = _profiles(user)
    patient_ids = {profile.id for profile in profiles}
    generated_at = now_utc()
    # Plain JSON per topic, so a person (or another service, GDPR art. 20)
    # reads it without Carnet; the notebooks also as FHIR, the health format.
    files = {
        "account.json": _account_json(user),
        "patients.json": [_profile_json(user, profile) for profile in profiles],
        "appointments.json": _appointments_json(user),
        "waitlist.json": _waitlist_json(patient_ids),
        "notebook_access_log.json": [row for pid in sorted(patient_ids) for row in _access_log_json(user, pid)],
        "notification_settings.json": _notification_settings_json(user),
        "consents.json": _consents_json(user, patient_ids),
        "security_log.json": _security_log_json(user),
    }
    notebooks = {f"notebook/patient-{pid}.fhir.json": exports.export_notebook(user, pid, "fhir").content
                 for pid in sorted(patient_ids)}
    manifest = {"format_version": ARCHIVE_FORMAT_VERSION, "generated_at": _iso(generated_at), "account_id": user.id,
                "files": sorted([*files, *notebooks])}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", _dump(manifest))
        for name, value in files.items():
            archive.writestr(name, _dump(value))
        for name, content in notebooks.items():
            archive.writestr(name, content)
    record_event("privacy.exported", actor=user, target_type="user", target_id=user.id,
                 details={"patient_ids": sorted(patient_ids)})
    return Archive(buffer.getvalue(), f"carnet-data-{user.id}-{generated_at:%Y%m%d}.zip")


def upcoming_appointment_count(user: User) -> int:
    """How many upcoming appointments (the account's and its relatives') stop it from closing now."""
    user = _patient_account(user)
    return db.session.scalar(sa.select(sa.func.count()).select_from(
        appointments_of(user, "upcoming").order_by(None).subquery()))


def _profiles_left_without_account(user: User, patient_ids: set[int]) -> set[int]:
    """The acted-for profiles nobody else will act for once this account is closed."""
    others = set(db.session.scalars(
        sa.select(PatientProxy.patient_id).where(PatientProxy.patient_id.in_(patient_ids),
                                                 PatientProxy.user_id != user.id)))
    with_other_account = set(db.session.scalars(
        sa.select(PatientProfile.id).where(PatientProfile.id.in_(patient_ids),
                                           PatientProfile.account_id.is_not(None),
                                           PatientProfile.account_id != user.id)))
    return patient_ids - others - with_other_account


def close_account(user: User) -> None:
    """Close a patient account and erase what the law allows.

    Rules: patients only (403 for other roles); refused while the account
    or its relatives have upcoming appointments (409
    `upcoming_appointments`: cancel them first, so no practitioner waits for
    a ghost); audited (`privacy.account_closed`). Login is closed for good,
    every API token is revoked and every browser session ends. Erased: the
    account's email (pseudonymised, so the address is free again), password
    and two-factor secret, the contact data (email, phone) of the profiles
    nobody else acts for, the links to relatives, notification settings,
    pending waiting-list requests, idempotency records and the contents of
    the account's notifications. Kept, for the legal retention periods:
    patient identities, notebooks (entries, files, access log) and
    appointments, the history of consents and the audit trail."""
    if upcoming_appointment_count(user):
        raise UpcomingAppointments()
    patient_ids = acting_patient_ids(user)
    now = now_utc()
    # A relative's profile someone else still acts for keeps its contact
    # data: that person still books for it and gets its reminders.
    erased_ids = _profiles_left_without_account(user, patient_ids)
    db.session.execute(sa.update(PatientProfile).where(PatientProfile.id.in_(erased_ids))
                       .values(email=None, phone=None).execution_options(synchronize_session="fetch"))
    db.session.execute(sa.update(WaitlistEntry)
                       .where(sa.or_(WaitlistEntry.patient_id.in_(erased_ids),
                                     WaitlistEntry.created_by_user_id == user.id),
                              WaitlistEntry.status != WaitlistStatus.CLOSED)
                       .values(status=WaitlistStatus.CLOSED).execution_options(synchronize_session="fetch"))
    db.session.execute(sa.delete(PatientProxy).where(PatientProxy.user_id == user.id))
    db.session.execute(sa.delete(NotificationPreference).where(NotificationPreference.user_id == user.id))
    db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.user_id == user.id))
    db.session.execute(sa.update(Notification)
                       .where(Notification.user_id == user.id, Notification.status == NotificationStatus.PENDING)
                       .values(status=NotificationStatus.CANCELLED, updated_at=now))
    # A message being handed to the mail server right now keeps its payload until it is sent.
    db.session.execute(sa.update(Notification)
                       .where(Notification.user_id == user.id, Notification.status != NotificationStatus.SENDING)
                       .values(payload=b"", updated_at=now))
    # Every browser session, API token and (for a practitioner) calendar feed URL ends.
    revoke_all_access(user, reason="account_closed")
    # Unique per account (the column is) and never deliverable (.invalid).
    user.email = f"closed-{user.id}@closed.invalid"
    user.email_confirmed_at = None
    user.password_hash = CLOSED_PASSWORD_HASH
    user.totp_secret = user.totp_enabled_at = None
    user.locale = None
    user.failed_login_count, user.locked_until = 0, None
    user.is_active_account = False
    # Every browser session opened before this instant ends (webapp.accounts.sessions).
    user.password_changed_at = now
    db.session.flush()
    record_event("privacy.account_closed", actor=user, target_type="user", target_id=user.id,
                 details={"patient_ids": sorted(patient_ids), "erased_contact_ids": sorted(erased_ids)})
