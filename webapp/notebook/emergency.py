"""Emergency access to a notebook ("bris de glace"): a practitioner with no
treating link reads a patient's notebook for a short time.

`grant_emergency_access` checks the rules in this order; the order is what
keeps each refusal from telling more than it should:

1. a verified practitioner only (403, `practitioner_not_verified` for one not verified yet);
2. a stated reason (422);
3. re-authentication: a TOTP code that opened no login or action before
   (401 `totp_required`; wrong codes count towards the account lock-out);
4. at most `CARNET_EMERGENCY_MAX_PER_DAY` grants per practitioner in any
   24 hours, a rolling window rather than a calendar day, so that no
   midnight doubles the allowance (429 `emergency_access_limit`; the
   operator is alerted). Checked before the identity, so that it tells
   nothing about it;
5. the person named: the profile's first name, last name and birth date,
   compared as at the desk (`webapp.accounts.matching`); else 404 exactly as
   for an id that does not exist, also for a practitioner the patient
   revoked;
6. the patient side's lock (403 `emergency_access_locked`), only once the
   identity matched, so that a lock does not reveal that the id exists;
7. a practitioner who already treats the patient needs none (409).

A grant is read-only, lasts `CARNET_NOTEBOOK_EMERGENCY_MINUTES`, and is an
audit event (`notebook.emergency_access`) as well as an access-log line
marked emergency; the patient side is told by mail. Each refusal from step 3
on is audited (`notebook.emergency_access_refused` with a reason code) and
keeps the TOTP code used. Services flush but never commit.
"""

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.accounts.authentication import confirm_totp_code
from webapp.accounts.errors import TotpRequired
from webapp.accounts.matching import matches_identity
from webapp.accounts.models import PatientProfile, PractitionerProfile, Role, User
from webapp.accounts.verification import require_verified
from webapp.audit.services import record_event
from webapp.booking.treating import has_treating_relationship
from webapp.crypto import encrypt
from webapp.db import now_utc
from webapp.errors import CarnetError, Forbidden
from webapp.extensions import db
from webapp.notebook import signals
from webapp.notebook.controls import is_emergency_access_locked
from webapp.notebook.errors import (
    AlreadyHasAccess,
    EmergencyAccessLimitReached,
    EmergencyAccessLocked,
    EmergencyPatientNotFound,
    InvalidEntry,
)
from webapp.notebook.models import AccessAction, EmergencyAccess
from webapp.notebook.permissions import NotebookAccess, is_revoked, log_access
from webapp.notebook.rules import REASON_MAX, REASON_MIN, is_db_id

DAILY_WINDOW = dt.timedelta(hours=24)


def _requesting_practitioner(user: User) -> PractitionerProfile:
    profile = user.practitioner_profile if user.role is Role.PRACTITIONER else None
    if profile is None:
        raise Forbidden()
    require_verified(profile)
    return profile


def _checked_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        raise InvalidEntry(fields={"reason": [str(_l(
            "State the reason in %(minimum)s to %(maximum)s characters.", minimum=REASON_MIN, maximum=REASON_MAX))]})
    return reason


def _refuse(user: User, patient_id: int, reason: str, error: CarnetError):
    """Audit a refused request (ids and a code only), then raise `error`."""
    record_event("notebook.emergency_access_refused", actor=user, target_type="patient_profile",
                 target_id=patient_id if is_db_id(patient_id) else None, details={"reason": reason})
    raise error


def recent_grant_ids(practitioner_id: int, now: dt.datetime) -> list[int]:
    """The practitioner's grants of the 24 hours up to `now`, newest first."""
    return list(db.session.scalars(
        sa.select(EmergencyAccess.id)
        .where(EmergencyAccess.practitioner_id == practitioner_id,
               EmergencyAccess.granted_at > now - DAILY_WINDOW, EmergencyAccess.granted_at <= now)
        .order_by(EmergencyAccess.granted_at.desc(), EmergencyAccess.id.desc())
    ))


def _refuse_beyond_daily_limit(user: User, profile: PractitionerProfile, patient_id: int, now: dt.datetime) -> None:
    # Two requests of one account at once cannot both pass: the TOTP check
    # before this holds the account's row until the first one ends.
    limit = current_app.config["CARNET_EMERGENCY_MAX_PER_DAY"]
    recent = recent_grant_ids(profile.id, now)
    if len(recent) < limit:
        return
    signals.emergency_access_limit_reached.send(
        current_app._get_current_object(), practitioner=profile, actor=user,
        last_grant_id=recent[0] if recent else None, limit=limit)
    _refuse(user, patient_id, "daily_limit", EmergencyAccessLimitReached())


def grant_emergency_access(
    user: User, patient_id: int, *, reason: str, first_name: str, last_name: str, birth_date: dt.date,
    totp: str | None, now: dt.datetime | None = None,
) -> EmergencyAccess:
    """Emergency read access ("bris de glace") to a patient's notebook, for
    a practitioner who names the person and re-authenticates with a fresh
    TOTP code; the rules and their order are in the module docstring.
    `now` (aware) replaces the clock, for the code as for the grant."""
    profile = _requesting_practitioner(user)
    reason = _checked_reason(reason)
    try:
        confirm_totp_code(user, totp, purpose="emergency_access", now=now)
    except TotpRequired as error:
        _refuse(user, patient_id, "bad_totp", error)
    now = now or now_utc()
    _refuse_beyond_daily_limit(user, profile, patient_id, now)
    patient = db.session.get(PatientProfile, patient_id) if is_db_id(patient_id) else None
    if patient is None or not matches_identity(patient, first_name=first_name, last_name=last_name,
                                               birth_date=birth_date):
        _refuse(user, patient_id, "no_match", EmergencyPatientNotFound())
    if is_revoked(patient.id, profile.id):
        _refuse(user, patient_id, "revoked", EmergencyPatientNotFound())
    if is_emergency_access_locked(patient.id):
        _refuse(user, patient_id, "locked", EmergencyAccessLocked())
    if has_treating_relationship(profile.id, patient.id):
        raise AlreadyHasAccess()
    grant = EmergencyAccess(
        patient=patient, practitioner_id=profile.id, user_id=user.id, reason=encrypt(reason.encode()),
        granted_at=now, expires_at=now + dt.timedelta(minutes=current_app.config["CARNET_NOTEBOOK_EMERGENCY_MINUTES"]),
    )
    db.session.add(grant)
    db.session.flush()
    log_access(NotebookAccess(user, patient, is_patient_side=False, practitioner_id=profile.id, emergency=grant),
               AccessAction.EMERGENCY_ACCESS)
    record_event("notebook.emergency_access", actor=user, target_type="patient_profile", target_id=patient.id,
                 details={"grant_id": grant.id, "practitioner_id": profile.id})
    signals.emergency_access_granted.send(current_app._get_current_object(), grant=grant, actor=user)
    return grant
