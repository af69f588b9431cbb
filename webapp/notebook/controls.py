"""The patient's controls: who may open the notebook (revocations, the emergency
lock) and who opened it (the access log)."""

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from webapp.accounts.models import PatientProfile, PractitionerProfile, User
from webapp.audit.services import record_event
from webapp.booking.treating import treated_patient_ids
from webapp.extensions import db
from webapp.notebook.errors import InvalidEntry, UnknownPractitioner
from webapp.notebook.models import AccessAction, AccessLogEntry, EmergencyAccess, NotebookSettings, Revocation
from webapp.notebook.permissions import is_revoked, patient_side_access
from webapp.notebook.rules import EMERGENCY_ALLOWED, EMERGENCY_LOCKED, is_db_id
from webapp.paging import paginate


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


def access_log_query(patient_id: int) -> sa.Select:
    return (
        sa.select(AccessLogEntry).where(AccessLogEntry.patient_id == patient_id)
        .options(selectinload(AccessLogEntry.actor).selectinload(User.practitioner_profile))
        .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
    )


def list_access_log(user: User, patient_id: int, *, page: int = 1, per_page: int = 20) -> dict:
    """Who read or wrote the notebook, newest first (patient side only)."""
    access = patient_side_access(user, patient_id)
    return paginate(access_log_query(access.patient.id), page=page, per_page=per_page)


def _treating_practitioners(patient_id: int) -> sa.Select:
    # booking's rule, correlated on each practitioner: "has or had a visit with this patient".
    return sa.select(PractitionerProfile.id).where(
        sa.literal(patient_id).in_(treated_patient_ids(PractitionerProfile.id)))


def is_practitioner_revoked(patient_id: int, practitioner_id: int) -> bool:
    """Whether the patient withdrew this practitioner's access (for features
    above the notebook that must not act for a revoked practice)."""
    return is_revoked(patient_id, practitioner_id)


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
    # The revoked stay listed although they no longer treat: the patient must be able to let them back in.
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
    return _sharing_candidates(patient_side_access(user, patient_id).patient.id)


def is_emergency_access_locked(patient_id: int) -> bool:
    """Whether the patient side refuses every emergency access to this notebook."""
    return bool(db.session.scalar(
        sa.select(NotebookSettings.emergency_access_locked).where(NotebookSettings.patient_id == patient_id)))


def _emergency_access_setting(patient_id: int) -> str:
    return EMERGENCY_LOCKED if is_emergency_access_locked(patient_id) else EMERGENCY_ALLOWED


def sharing_overview(user: User, patient_id: int) -> SharingOverview:
    """The sharing page: candidates, who is revoked, every emergency access and
    whether it is locked (patient side only)."""
    access = patient_side_access(user, patient_id)
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
    access = patient_side_access(user, patient_id)
    return Sharing(revoked_practitioner_ids(access.patient.id), _emergency_access_setting(access.patient.id))


def existing_practitioner_ids(practitioner_ids, field_name: str) -> set[int]:
    """The ids as a set, or `UnknownPractitioner` on the field if any is not a practitioner."""
    wanted = set(practitioner_ids)
    # Ids beyond the database's integer range are not sent to it: they are simply
    # not found, the same 422 as an unknown id rather than a driver error.
    found = set(db.session.scalars(sa.select(PractitionerProfile.id).where(
        PractitionerProfile.id.in_([pid for pid in wanted if is_db_id(pid)]))))
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
    access = patient_side_access(user, patient_id)
    if emergency_access not in (None, EMERGENCY_ALLOWED, EMERGENCY_LOCKED):
        raise InvalidEntry(fields={"emergency_access": [str(_l("Choose allowed or locked."))]})
    wanted = existing_practitioner_ids(revoked_ids, "revoked_practitioner_ids")
    current = set(revoked_practitioner_ids(access.patient.id))
    current_setting = _emergency_access_setting(access.patient.id)
    setting = emergency_access or current_setting
    # Only the difference is written: an unchanged revocation keeps its row (and its date).
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
