"""When a visit has begun, and so when a practitioner reads and writes the notebook (webapp.booking.visits)."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import make_appointment
from webapp.booking.models import AppointmentStatus
from webapp.booking.treating import has_appointment_with, treated_patient_ids
from webapp.booking.visits import has_begun_visit, may_read_notebook, readable_patient_ids, visit_has_begun
from webapp.extensions import db

START = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
BEFORE, AFTER = START - dt.timedelta(days=2), START + dt.timedelta(minutes=1)


@pytest.fixture
def pair():
    return factories.make_practitioner(), factories.make_patient()


def standing(practitioner, patient, now) -> tuple[bool, bool]:
    return may_read_notebook(practitioner.id, patient.id, now=now), (
        has_begun_visit(practitioner.id, patient.id, now=now))


def test_a_booking_opens_nothing_before_its_visit_and_everything_from_its_start(pair):
    practitioner, patient = pair
    appointment = make_appointment(practitioner, patient, START, booked_at_desk=True)
    assert standing(practitioner, patient, BEFORE) == (False, False)
    assert standing(practitioner, patient, START - dt.timedelta(seconds=1)) == (False, False)
    assert standing(practitioner, patient, START) == (True, True)
    assert not visit_has_begun(appointment, now=BEFORE) and visit_has_begun(appointment, now=START)


def test_a_patient_marked_arrived_begins_the_visit_before_its_start(pair):
    practitioner, patient = pair
    make_appointment(practitioner, patient, START, arrived_at=START - dt.timedelta(minutes=20))
    assert standing(practitioner, patient, START - dt.timedelta(minutes=19)) == (True, True)


def test_a_walk_in_has_begun_as_it_is_recorded(pair):
    practitioner, patient = pair
    make_appointment(practitioner, patient, START, is_walk_in=True, booked_at_desk=True, arrived_at=START)
    assert standing(practitioner, patient, START) == (True, True)


def test_a_notebook_shared_at_booking_is_read_before_the_visit_but_not_written_in(pair):
    practitioner, patient = pair
    make_appointment(practitioner, patient, START, shares_notebook_ahead=True)
    assert standing(practitioner, patient, BEFORE) == (True, False)
    assert standing(practitioner, patient, AFTER) == (True, True)


@pytest.mark.parametrize("shared", [False, True])
def test_a_no_show_opens_nothing(pair, shared):
    """Its start time was reached but the patient never came."""
    practitioner, patient = pair
    make_appointment(practitioner, patient, START, status=AppointmentStatus.NO_SHOW, shares_notebook_ahead=shared)
    assert standing(practitioner, patient, AFTER + dt.timedelta(days=30)) == (False, False)


@pytest.mark.parametrize("shared", [False, True])
def test_a_cancelled_booking_that_never_began_opens_nothing(pair, shared):
    practitioner, patient = pair
    make_appointment(practitioner, patient, START, status=AppointmentStatus.CANCELLED, shares_notebook_ahead=shared)
    assert standing(practitioner, patient, BEFORE) == (False, False)
    assert standing(practitioner, patient, AFTER) == (False, False)


def test_a_cancelled_visit_that_had_begun_keeps_it_open(pair):
    practitioner, patient = pair
    make_appointment(practitioner, patient, START, status=AppointmentStatus.CANCELLED, arrived_at=START)
    assert standing(practitioner, patient, AFTER) == (True, True)


def test_a_past_visit_keeps_the_notebook_open(pair):
    practitioner, patient = pair
    make_appointment(practitioner, patient, START - dt.timedelta(days=300), status=AppointmentStatus.COMPLETED)
    assert standing(practitioner, patient, START) == (True, True)


def test_the_rule_is_per_practitioner_and_per_patient_profile():
    practitioner, other_practitioner = factories.make_practitioner(), factories.make_practitioner()
    patient = factories.make_patient()
    relative = factories.make_relative(patient.account)
    make_appointment(practitioner, relative, START)
    assert standing(practitioner, relative, AFTER) == (True, True)
    assert standing(practitioner, patient, AFTER) == (False, False)
    assert standing(other_practitioner, relative, AFTER) == (False, False)


def test_readable_patient_ids_follow_the_rule():
    practitioner = factories.make_practitioner()
    seen, shared, booked, missed, elsewhere = (factories.make_patient() for _ in range(5))
    make_appointment(practitioner, seen, START - dt.timedelta(days=7), status=AppointmentStatus.COMPLETED)
    make_appointment(practitioner, seen, START + dt.timedelta(days=7))
    make_appointment(practitioner, shared, START + dt.timedelta(days=1), shares_notebook_ahead=True)
    make_appointment(practitioner, booked, START + dt.timedelta(days=2))
    make_appointment(practitioner, missed, START - dt.timedelta(days=1), status=AppointmentStatus.NO_SHOW)
    make_appointment(factories.make_practitioner(), elsewhere, START - dt.timedelta(days=1))
    statement = readable_patient_ids(practitioner.id, now=START)
    assert isinstance(statement, sa.Select)
    assert sorted(db.session.scalars(statement)) == sorted([seen.id, shared.id])


def test_any_standing_appointment_makes_a_returning_patient_and_a_sharing_candidate():
    """Booking's other relationship: who may book reasons for returning
    patients, be invited, or be revoked; it opens no notebook."""
    practitioner = factories.make_practitioner()
    first, second, cancelled_only, elsewhere = (factories.make_patient() for _ in range(4))
    make_appointment(practitioner, first, START)
    make_appointment(practitioner, first, START + dt.timedelta(days=7))
    make_appointment(practitioner, second, START - dt.timedelta(days=7), status=AppointmentStatus.NO_SHOW)
    make_appointment(practitioner, cancelled_only, START + dt.timedelta(days=1), status=AppointmentStatus.CANCELLED)
    make_appointment(factories.make_practitioner(), elsewhere, START)
    statement = treated_patient_ids(practitioner.id)
    assert isinstance(statement, sa.Select)
    assert sorted(db.session.scalars(statement)) == sorted([first.id, second.id])
    assert has_appointment_with(practitioner.id, first.id) and not has_appointment_with(practitioner.id, elsewhere.id)
    assert not has_appointment_with(practitioner.id, cancelled_only.id)
    assert not may_read_notebook(practitioner.id, first.id, now=BEFORE)
