"""The treating relationship other features ask booking about."""

import datetime as dt

import sqlalchemy as sa

from tests import factories
from tests.booking.factories import make_appointment
from webapp.booking.models import AppointmentStatus
from webapp.booking.services import has_treating_relationship, treated_patient_ids
from webapp.extensions import db

START = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)


def test_a_booked_upcoming_appointment_makes_a_treating_relationship():
    practitioner, patient = factories.make_practitioner(), factories.make_patient()
    assert not has_treating_relationship(practitioner.id, patient.id)
    make_appointment(practitioner, patient, START)
    assert has_treating_relationship(practitioner.id, patient.id)


def test_past_completed_and_missed_appointments_count():
    practitioner = factories.make_practitioner()
    completed, missed = factories.make_patient(), factories.make_patient()
    make_appointment(practitioner, completed, START - dt.timedelta(days=300), status=AppointmentStatus.COMPLETED)
    make_appointment(practitioner, missed, START - dt.timedelta(days=30), status=AppointmentStatus.NO_SHOW)
    assert has_treating_relationship(practitioner.id, completed.id)
    assert has_treating_relationship(practitioner.id, missed.id)


def test_a_cancelled_appointment_makes_no_relationship():
    practitioner, patient = factories.make_practitioner(), factories.make_patient()
    make_appointment(practitioner, patient, START, status=AppointmentStatus.CANCELLED)
    assert not has_treating_relationship(practitioner.id, patient.id)


def test_relationship_is_per_practitioner_and_per_patient_profile():
    practitioner, other_practitioner = factories.make_practitioner(), factories.make_practitioner()
    patient = factories.make_patient()
    relative = factories.make_relative(patient.account)
    make_appointment(practitioner, relative, START)
    assert has_treating_relationship(practitioner.id, relative.id)
    assert not has_treating_relationship(practitioner.id, patient.id)
    assert not has_treating_relationship(other_practitioner.id, relative.id)


def test_treated_patient_ids_is_a_select_of_distinct_patients():
    practitioner = factories.make_practitioner()
    first, second, cancelled_only, elsewhere = (factories.make_patient() for _ in range(4))
    make_appointment(practitioner, first, START)
    make_appointment(practitioner, first, START + dt.timedelta(days=7))
    make_appointment(practitioner, second, START - dt.timedelta(days=7), status=AppointmentStatus.COMPLETED)
    make_appointment(practitioner, cancelled_only, START + dt.timedelta(days=1), status=AppointmentStatus.CANCELLED)
    make_appointment(factories.make_practitioner(), elsewhere, START)
    statement = treated_patient_ids(practitioner.id)
    assert isinstance(statement, sa.Select)
    assert sorted(db.session.scalars(statement)) == sorted([first.id, second.id])
