"""The notebooks each account keeps: a patient's own and relatives', a practitioner's patients."""

import datetime as dt

import sqlalchemy as sa

from webapp.accounts.models import PatientProfile, Role, User
from webapp.accounts.relatives import acting_patient_ids
from webapp.accounts.verification import require_verified
from webapp.booking.visits import readable_patient_ids
from webapp.errors import Forbidden
from webapp.extensions import db
from webapp.notebook.models import Revocation


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
    # A revoked practitioner no longer lists the patient, even with visits on record.
    revoked = sa.select(Revocation.patient_id).where(Revocation.practitioner_id == profile.id)
    statement = sa.select(PatientProfile).where(
        PatientProfile.id.in_(readable_patient_ids(profile.id)), PatientProfile.id.not_in(revoked))
    for word in text.split():
        statement = statement.where(sa.or_(PatientProfile.first_name.icontains(word, autoescape=True),
                                           PatientProfile.last_name.icontains(word, autoescape=True)))
    if birth_date is not None:
        statement = statement.where(PatientProfile.birth_date == birth_date)
    return statement.order_by(PatientProfile.last_name, PatientProfile.first_name, PatientProfile.id)
