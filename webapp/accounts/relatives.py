"""Relatives: the patient profiles an account acts for (its own, a child's, a dependant's).

Services flush but never commit; the caller wraps them in `transaction()`.
"""

import datetime as dt

import sqlalchemy as sa

from webapp.accounts.errors import (
    InvalidAccountData,
)
from webapp.accounts.identity_rules import identity_problems
from webapp.accounts.models import (
    PatientProfile,
    PatientProxy,
    Role,
    Sex,
    User,
)
from webapp.audit.services import record_event
from webapp.errors import NotFound
from webapp.extensions import db


def acting_patient_ids(user: User) -> set[int]:
    """The patient profiles this account may act for: its own and its relatives'."""
    ids = set(db.session.scalars(sa.select(PatientProxy.patient_id).where(PatientProxy.user_id == user.id)))
    if user.patient_profile is not None:
        ids.add(user.patient_profile.id)
    return ids


def can_act_for_patient(user: User, patient_id: int) -> bool:
    return patient_id in acting_patient_ids(user)


def list_relatives(user: User) -> list[PatientProfile]:
    return list(db.session.scalars(
        sa.select(PatientProfile)
        .join(PatientProxy, PatientProxy.patient_id == PatientProfile.id)
        .where(PatientProxy.user_id == user.id)
        .order_by(PatientProfile.birth_date)
    ))


def add_relative(user: User, *, first_name: str, last_name: str, birth_date: dt.date,
                 sex: str | None = None) -> PatientProfile:
    """A patient account adds a profile it will act for (a child, a dependant);
    names and birth date follow `identity_rules`."""
    if user.role is not Role.PATIENT:
        raise NotFound()
    if problems := identity_problems(first_name=first_name, last_name=last_name, birth_date=birth_date):
        raise InvalidAccountData(fields=problems)
    profile = PatientProfile(first_name=first_name.strip(), last_name=last_name.strip(), birth_date=birth_date,
                             sex=Sex(sex) if sex else None)
    db.session.add(profile)
    db.session.add(PatientProxy(user=user, patient=profile))
    db.session.flush()
    # Acting for a profile grants access to its bookings and notebook.
    record_event("relative.added", actor=user, target_type="patient_profile", target_id=profile.id)
    return profile
