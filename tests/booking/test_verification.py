"""Booking refuses practitioners not verified: not listed, not bookable, no desk (service level)."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import local_start, make_appointment, open_practice
from webapp.accounts.models import Verification
from webapp.accounts.verification import PractitionerNotVerified
from webapp.booking import agendas, appointments, availability, calendar_feed, desk, search, waitlist
from webapp.booking.errors import NotBookableOnline
from webapp.booking.models import Appointment
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.transaction import transaction

UNVERIFIED = ["pending", "rejected"]


pytestmark = pytest.mark.usefixtures("in_request")  # services run inside a request


def _practice(state: str, **overrides):
    return open_practice(factories.make_practitioner(verification=state, **overrides))


def _book(practitioner, reason, by, days_ahead=2, **kwargs):
    with transaction():
        return appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id,
                                         start_at=local_start(days_ahead), by=by, **kwargs)


@pytest.mark.parametrize("state", UNVERIFIED)
def test_search_lists_verified_practitioners_only(state):
    verified, _ = open_practice(factories.make_practitioner(city="Lyon"))
    _practice(state, city="Lyon")
    found = list(db.session.scalars(search.search_practitioners(city="Lyon")))
    assert found == [verified]


@pytest.mark.parametrize("state", UNVERIFIED)
def test_the_public_knows_no_such_practitioner(state):
    practitioner, reason = _practice(state)
    with pytest.raises(NotFound):
        agendas.listed_practitioner(practitioner.id)
    today = dt.date.today()
    with pytest.raises(NotFound):
        availability.available_slots(practitioner.id, reason.id, today, today + dt.timedelta(days=7))
    with pytest.raises(NotFound):
        waitlist.join_waitlist(practitioner_id=practitioner.id, visit_reason_id=reason.id,
                               before_at=local_start(30), by=factories.make_patient().account)


@pytest.mark.parametrize("state", UNVERIFIED)
def test_a_patient_cannot_book_a_practitioner_not_verified(state):
    practitioner, reason = _practice(state)
    with pytest.raises(NotFound):
        _book(practitioner, reason, factories.make_patient().account)
    assert db.session.scalar(sa.select(sa.func.count(Appointment.id))) == 0


@pytest.mark.parametrize("state", UNVERIFIED)
def test_no_desk_for_a_practitioner_not_verified(state):
    clinic = factories.make_clinic()
    practitioner, reason = _practice(state, clinic=clinic)
    secretary = factories.make_staff(clinic=clinic)
    patient = factories.make_desk_patient(desk_practitioner_id=practitioner.id)
    for by in (practitioner.user, secretary):
        with pytest.raises(PractitionerNotVerified):
            _book(practitioner, reason, by, patient_id=patient.id)
        with pytest.raises(PractitionerNotVerified):
            appointments.agenda(by, practitioner.id, dt.date.today(), dt.date.today())
        with pytest.raises(PractitionerNotVerified):
            availability.desk_slots(by, practitioner.id, reason.id, dt.date.today(), dt.date.today())
        with pytest.raises(PractitionerNotVerified):
            desk.create_desk_patient(by, practitioner_id=practitioner.id, first_name="Louise",
                                         last_name="Moreau", birth_date=dt.date(1950, 2, 3), phone="0612345678")
    with pytest.raises(PractitionerNotVerified):
        desk.find_patients(practitioner.user, "Paul")
    with pytest.raises(PractitionerNotVerified):
        desk.desk_patient(practitioner.user, patient.id)
    # No agenda of theirs for the desk, nor for their clinic's staff.
    with pytest.raises(PractitionerNotVerified):
        agendas.managed_practitioners(practitioner.user)
    assert agendas.managed_practitioners(secretary) == []


def test_a_practitioner_rejected_after_bookings_loses_the_agenda_actions_and_online_moves():
    practitioner, reason = open_practice()
    patient = factories.make_patient()
    upcoming = make_appointment(practitioner, patient, local_start(3), reason=reason)
    started = make_appointment(practitioner, patient, local_start(-1), reason=reason)
    with transaction():
        token = calendar_feed.rotate_calendar_feed(practitioner.user)
    practitioner.verification = Verification.REJECTED
    db.session.commit()
    with pytest.raises(PractitionerNotVerified):
        appointments.mark_no_show(started.id, by=practitioner.user)
    with pytest.raises(PractitionerNotVerified):
        appointments.cancel_appointment(upcoming.id, by=practitioner.user, reason="Fermeture du cabinet")
    with pytest.raises(NotBookableOnline):
        appointments.reschedule_appointment(upcoming.id, new_start_at=local_start(4), by=patient.account)
    assert calendar_feed.practitioner_for_feed(token) is None
    # The patient side may still cancel its own appointment.
    with transaction():
        appointments.cancel_appointment(upcoming.id, by=patient.account)
