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

from dataclasses import dataclass

import sqlalchemy as sa

from webapp.accounts.models import PatientProfile, Role, User
from webapp.accounts.relatives import can_act_for_patient
from webapp.accounts.verification import require_verified
from webapp.booking.visits import notebook_standing
from webapp.db import now_utc
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.notebook.errors import PatientSideOnly, ReadOnlyAccess, VisitNotBegun
from webapp.notebook.models import AccessAction, AccessLogEntry, EmergencyAccess, Revocation
from webapp.notebook.rules import is_db_id


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


def is_revoked(patient_id: int, practitioner_id: int) -> bool:
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
    if not is_db_id(patient_id):
        raise NotFound()
    patient = db.session.get(PatientProfile, patient_id)
    if patient is None:
        raise NotFound()
    if user.role is Role.PATIENT and can_act_for_patient(user, patient_id):
        return NotebookAccess(user, patient, is_patient_side=True)
    profile = user.practitioner_profile if user.role is Role.PRACTITIONER else None
    # Revocation is checked before any grant: a revoked practitioner is refused even in an emergency.
    if profile is None or is_revoked(patient_id, profile.id):
        raise NotFound()
    standing = notebook_standing(profile.id, patient_id)
    if standing.may_read:
        return NotebookAccess(user, patient, is_patient_side=False, practitioner_id=profile.id,
                              has_begun_visit=standing.may_write)
    grant = _active_emergency_grant(patient_id, profile.id)
    if grant is None:
        raise NotFound()
    return NotebookAccess(user, patient, is_patient_side=False, practitioner_id=profile.id, emergency=grant)


def patient_side_access(user: User, patient_id: int) -> NotebookAccess:
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


def log_access(access: NotebookAccess, action: AccessAction, entry_id: int | None = None) -> None:
    # The log tells the patient who else opened the notebook: their own side's reads would only drown it.
    if access.is_patient_side:
        return
    db.session.add(AccessLogEntry(
        patient_id=access.patient.id, actor_user_id=access.user.id, actor_role=access.user.role,
        action=action, entry_id=entry_id, emergency=access.emergency is not None,
    ))
