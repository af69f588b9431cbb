"""The desk at the service level: identification by full identity (slot first, failures counted and limited),
walk-ins, arrivals, the notebook shared at booking, and which clinic roles work at a desk."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import recorded_events
from tests.booking.factories import make_appointment, make_visit_reason, open_practice
from webapp.accounts.models import ClinicRole, PatientProfile, Role
from webapp.booking import agendas, appointments, availability, desk, visits
from webapp.booking.errors import (
    AppointmentNotActive,
    InvalidBookingData,
    PatientArrived,
    PatientNotFound,
    PatientNotIdentified,
    SlotUnavailable,
    TooEarlyForArrival,
    TooManyIdentificationFailures,
)
from webapp.booking.models import Appointment, AppointmentStatus, DeskIdentityFailure
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db
from webapp.transaction import transaction

# A Monday, 09:00 in Paris; the practices of these tests are open 08:00-20:00 every day.
NOW = dt.datetime(2030, 1, 7, 8, 0, tzinfo=dt.UTC)
SLOT = NOW + dt.timedelta(hours=2)


pytestmark = pytest.mark.usefixtures("in_request")  # services run inside a request


@pytest.fixture
def stranger():
    """A patient the practice has never seen."""
    return factories.make_patient(first_name="Hélène", last_name="Le Gall-Durand", birth_date=dt.date(1961, 7, 8))


def identity(patient=None, **values) -> desk.PatientIdentity:
    if patient is not None:
        values = {"first_name": patient.first_name, "last_name": patient.last_name,
                  "birth_date": patient.birth_date} | values
    return desk.PatientIdentity.of(**values)


def desk_book(practitioner, reason, by, *, start=SLOT, now=NOW, **kwargs) -> Appointment:
    with transaction():
        return appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=start,
                                         by=by, now=now, **kwargs)


def failures() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(DeskIdentityFailure.id)))


def accountant_of(clinic):
    return factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT)


# --- Identification -----------------------------------------------------------------------------

def test_a_taken_slot_answers_the_same_409_whatever_the_identity(practice, stranger):
    practitioner, reason = practice
    make_appointment(practitioner, factories.make_patient(), SLOT, reason=reason)
    attempts = [
        {"patient_identity": identity(stranger)},
        {"patient_identity": identity(stranger, birth_date=dt.date(1961, 7, 9))},
        {"patient_identity": identity(first_name="Personne", last_name="Inconnue", birth_date=dt.date(1990, 1, 1))},
        {"patient_id": stranger.id},
        {"patient_id": 999_999},
    ]
    messages = set()
    for attempt in attempts:
        with pytest.raises(SlotUnavailable) as error:
            desk_book(practitioner, reason, practitioner.user, **attempt)
        messages.add((error.value.status, error.value.code, error.value.message, str(error.value.fields)))
    assert len(messages) == 1
    assert failures() == 0  # the slot answered before any identity was looked at


def test_an_identity_that_matches_no_one_is_404_counted_and_audited(practice, stranger):
    practitioner, reason = practice
    with pytest.raises(PatientNotIdentified) as error:
        desk_book(practitioner, reason, practitioner.user, patient_identity=identity(stranger, first_name="Hélèna"))
    assert (error.value.status, error.value.code) == (404, "patient_not_found")
    assert failures() == 1  # kept although the booking failed
    [event] = recorded_events("desk.identity_failed")
    assert event.actor_id == practitioner.user_id and event.target_id == str(practitioner.id)
    assert event.details == {}  # ids only: never the typed names or dates
    assert not db.session.scalars(sa.select(Appointment)).all()


def test_identity_ignores_case_accents_hyphens_and_name_order(practice, stranger):
    practitioner, reason = practice
    for number, (first, last) in enumerate([("helene", "LE GALL DURAND"), ("Le Gall-Durand", "Hélène"),
                                            ("HÉLÈNE", "le   gall-durand")]):
        appointment = desk_book(practitioner, reason, practitioner.user, start=SLOT + dt.timedelta(hours=number),
                                patient_identity=identity(first_name=first, last_name=last,
                                                          birth_date=stranger.birth_date))
        assert appointment.patient_id == stranger.id
    assert failures() == 0


def test_two_profiles_with_one_identity_are_not_told_apart(practice, stranger):
    practitioner, reason = practice
    factories.make_desk_patient(first_name="Helene", last_name="Le Gall Durand", birth_date=stranger.birth_date)
    with pytest.raises(PatientNotIdentified):
        desk_book(practitioner, reason, practitioner.user, patient_identity=identity(stranger))


def test_a_patient_unknown_to_the_practice_is_not_reached_by_id(practice, stranger):
    practitioner, reason = practice
    errors = []
    for patient_id in (stranger.id, 999_999):
        with pytest.raises(PatientNotFound) as error:
            desk_book(practitioner, reason, practitioner.user, patient_id=patient_id)
        errors.append((error.value.code, error.value.message, error.value.fields))
    assert errors[0] == errors[1]  # whether the profile exists or not


def test_failed_identifications_are_limited_per_account_within_a_window(app, monkeypatch, practice, stranger):
    monkeypatch.setitem(app.config, "CARNET_DESK_IDENTIFICATION_MAX_FAILURES", 3)
    practitioner, reason = practice
    wrong = identity(stranger, birth_date=dt.date(1961, 7, 9))
    for minute in range(3):
        with pytest.raises(PatientNotIdentified):
            desk_book(practitioner, reason, practitioner.user, patient_identity=wrong,
                      now=NOW + dt.timedelta(minutes=minute))
    with pytest.raises(TooManyIdentificationFailures) as error:
        desk_book(practitioner, reason, practitioner.user, patient_identity=identity(stranger),
                  now=NOW + dt.timedelta(minutes=5))
    assert error.value.status == 429
    assert failures() == 3
    # Another desk account is not held back; the same one is again once the window has passed.
    colleague, colleague_reason = open_practice()
    assert desk_book(colleague, colleague_reason, colleague.user, patient_identity=identity(stranger)).id
    later = NOW + dt.timedelta(minutes=61)
    assert desk_book(practitioner, reason, practitioner.user, patient_identity=identity(stranger), now=later).id


def test_the_desk_search_counts_a_birth_date_search_that_finds_no_one(app, monkeypatch, stranger):
    monkeypatch.setitem(app.config, "CARNET_DESK_IDENTIFICATION_MAX_FAILURES", 2)
    practitioner = factories.make_practitioner()
    with transaction():
        assert desk.find_patients(practitioner.user, "Hélène Le Gall-Durand", birth_date=stranger.birth_date) \
            == [stranger]
        assert desk.find_patients(practitioner.user, "Hélène Le Gall-Durand") == []  # no identity: not counted
    assert failures() == 0
    for day in (9, 10):
        with transaction():
            assert desk.find_patients(practitioner.user, "Hélène Le Gall-Durand",
                                          birth_date=dt.date(1961, 7, day)) == []
    assert failures() == 2 and len(recorded_events("desk.identity_failed")) == 2
    with pytest.raises(TooManyIdentificationFailures):
        desk.find_patients(practitioner.user, "Hélène Le Gall-Durand", birth_date=stranger.birth_date)


# --- Walk-ins -----------------------------------------------------------------------------------

def walk_in(practitioner, reason, by, *, now, **kwargs) -> Appointment:
    with transaction():
        return appointments.record_walk_in(practitioner_id=practitioner.id, visit_reason_id=reason.id, by=by, now=now,
                                       **kwargs)


def test_a_new_patients_phone_is_kept_in_e164_and_a_wrong_one_refused_with_nothing_written(practice):
    practitioner, _ = practice
    with transaction():
        profile = desk.create_desk_patient(practitioner.user, practitioner_id=practitioner.id, first_name="Louise",
                                           last_name="Martin", birth_date=dt.date(1980, 1, 1), phone="06 12 34 56 78")
    assert profile.phone == "+33612345678"  # as a patient's own number: SMS reminders can reach it
    with pytest.raises(InvalidBookingData) as refused, transaction():
        desk.create_desk_patient(practitioner.user, practitioner_id=practitioner.id, first_name="Paul",
                                 last_name="Martin", birth_date=dt.date(1982, 2, 2), phone="12 34")
    assert list(refused.value.fields) == ["phone"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PatientProfile)
                             .where(PatientProfile.first_name == "Paul")) == 0


def test_a_walk_in_starts_now_at_any_hour_and_has_begun(stranger):
    practitioner = factories.make_practitioner()  # no opening hours at all
    reason = make_visit_reason(practitioner, duration_minutes=20)
    sunday_night = dt.datetime(2030, 1, 6, 22, 3, 41, tzinfo=dt.UTC)
    appointment = walk_in(practitioner, reason, practitioner.user, now=sunday_night,
                          patient_identity=identity(stranger))
    assert appointment.start_at == dt.datetime(2030, 1, 6, 22, 0, tzinfo=dt.UTC)
    assert appointment.end_at == appointment.start_at + dt.timedelta(minutes=20)
    assert appointment.is_walk_in and appointment.booked_at_desk and appointment.arrived_at == sunday_night
    assert len(appointment.cells) == 4
    assert visits.has_begun_visit(practitioner.id, stranger.id, now=sunday_night)
    [event] = recorded_events("appointment.walk_in")
    assert event.details == {"practitioner_id": practitioner.id, "patient_id": stranger.id}


def test_a_walk_in_never_overlaps_and_the_time_is_checked_before_the_identity(practice, stranger):
    practitioner, reason = practice
    make_appointment(practitioner, factories.make_patient(), NOW - dt.timedelta(minutes=10), reason=reason)
    for attempt in ({"patient_identity": identity(stranger)},
                    {"patient_identity": identity(stranger, first_name="Autre")}, {"patient_id": 999_999}):
        with pytest.raises(SlotUnavailable):
            walk_in(practitioner, reason, practitioner.user, now=NOW, **attempt)
    assert failures() == 0
    after = NOW + dt.timedelta(minutes=20)  # the other visit is over
    assert walk_in(practitioner, reason, practitioner.user, now=after, patient_identity=identity(stranger)).id


def test_walk_ins_are_the_desks_only(practice, stranger):
    clinic = factories.make_clinic()
    practitioner, reason = open_practice(factories.make_practitioner(clinic=clinic))
    secretary = factories.make_staff(clinic=clinic)
    assert walk_in(practitioner, reason, secretary, now=NOW, patient_identity=identity(stranger)).is_walk_in
    for outsider in (stranger.account, factories.make_practitioner().user, accountant_of(clinic),
                     factories.make_staff(clinic=factories.make_clinic())):
        with pytest.raises(Forbidden):
            walk_in(practitioner, reason, outsider, now=NOW + dt.timedelta(hours=1),
                    patient_identity=identity(stranger))


# --- Arrivals -----------------------------------------------------------------------------------

def arrive(appointment, by, now):
    with transaction():
        return appointments.mark_arrived(appointment.id, by=by, now=now)


def test_the_desk_marks_a_patient_arrived_which_begins_the_visit(stranger):
    clinic = factories.make_clinic()
    practitioner, reason = open_practice(factories.make_practitioner(clinic=clinic))
    appointment = make_appointment(practitioner, stranger, SLOT, reason=reason, booked_at_desk=True)
    early = SLOT - appointments.ARRIVAL_EARLIEST - dt.timedelta(minutes=1)
    with pytest.raises(TooEarlyForArrival):
        arrive(appointment, practitioner.user, early)
    at = SLOT - dt.timedelta(minutes=25)
    assert not visits.has_begun_visit(practitioner.id, stranger.id, now=at)
    assert arrive(appointment, factories.make_staff(clinic=clinic), at).arrived_at == at
    assert visits.has_begun_visit(practitioner.id, stranger.id, now=at)
    assert arrive(appointment, practitioner.user, at + dt.timedelta(minutes=5)).arrived_at == at  # unchanged
    [event] = recorded_events("appointment.arrived")
    assert event.target_id == str(appointment.id)


def test_arrival_is_refused_to_anyone_but_the_desk_and_to_inactive_appointments(stranger):
    clinic = factories.make_clinic()
    practitioner, reason = open_practice(factories.make_practitioner(clinic=clinic))
    appointment = make_appointment(practitioner, stranger, SLOT, reason=reason)
    with pytest.raises(Forbidden):
        arrive(appointment, stranger.account, SLOT)
    for outsider in (factories.make_practitioner().user, accountant_of(clinic)):
        with pytest.raises(NotFound):
            arrive(appointment, outsider, SLOT)
    cancelled = make_appointment(practitioner, stranger, SLOT + dt.timedelta(hours=1), reason=reason,
                                 status=AppointmentStatus.CANCELLED)
    with pytest.raises(AppointmentNotActive):
        arrive(cancelled, practitioner.user, SLOT)


def test_an_arrived_patient_is_no_no_show_and_may_be_seen_before_the_start(practice, stranger):
    practitioner, reason = practice
    appointment = make_appointment(practitioner, stranger, SLOT, reason=reason, arrived_at=SLOT - dt.timedelta(hours=1))
    with pytest.raises(PatientArrived):
        appointments.mark_no_show(appointment.id, by=practitioner.user, now=SLOT + dt.timedelta(hours=1))
    done = appointments.mark_completed(appointment.id, by=practitioner.user, now=SLOT - dt.timedelta(minutes=30))
    assert done.status is AppointmentStatus.COMPLETED


# --- The notebook shared at booking ---------------------------------------------------------------

def test_the_patient_side_may_share_the_notebook_when_booking_never_the_desk(practice, stranger):
    practitioner, reason = practice
    shared = desk_book(practitioner, reason, stranger.account, share_notebook_ahead=True)
    assert shared.shares_notebook_ahead
    assert visits.may_read_notebook(practitioner.id, stranger.id, now=NOW)
    assert not visits.has_begun_visit(practitioner.id, stranger.id, now=NOW)
    kept = desk_book(practitioner, reason, stranger.account, start=SLOT + dt.timedelta(hours=1))
    assert not kept.shares_notebook_ahead
    with pytest.raises(InvalidBookingData) as error:
        desk_book(practitioner, reason, practitioner.user, start=SLOT + dt.timedelta(hours=2),
                  patient_id=stranger.id, share_notebook_ahead=True)
    assert "share_notebook_ahead" in error.value.fields


def test_a_desk_booking_for_later_opens_nothing_before_the_visit(practice, stranger):
    practitioner, reason = practice
    appointment = desk_book(practitioner, reason, practitioner.user, patient_identity=identity(stranger))
    assert appointment.booked_at_desk and not appointment.shares_notebook_ahead
    assert not visits.may_read_notebook(practitioner.id, stranger.id, now=NOW)
    assert visits.may_read_notebook(practitioner.id, stranger.id, now=SLOT)


# --- Clinic roles ---------------------------------------------------------------------------------

def test_a_clinic_accountant_has_no_agenda_and_no_desk(stranger):
    clinic = factories.make_clinic()
    practitioner, reason = open_practice(factories.make_practitioner(clinic=clinic))
    appointment = make_appointment(practitioner, stranger, SLOT, reason=reason)
    accountant = accountant_of(clinic)
    assert agendas.managed_practitioners(accountant) == []
    assert not agendas.can_manage_agenda(accountant, practitioner) and not agendas.works_at_a_desk(accountant)
    refusals = [
        lambda: appointments.agenda(accountant, practitioner.id, SLOT.date(), SLOT.date()),
        lambda: appointments.appointments_of(accountant, "upcoming"),
        lambda: desk.find_patients(accountant, "Hélène Le Gall-Durand", birth_date=stranger.birth_date),
        lambda: desk.desk_patient(accountant, stranger.id, identity=identity(stranger)),
        lambda: desk.create_desk_patient(accountant, practitioner_id=practitioner.id, first_name="Paul",
                                             last_name="Neuf", birth_date=dt.date(1980, 1, 1), phone="0600000000"),
        lambda: desk_book(practitioner, reason, accountant, start=SLOT + dt.timedelta(hours=1),
                          patient_identity=identity(stranger)),
        lambda: appointments.record_walk_in(practitioner_id=practitioner.id, visit_reason_id=reason.id, by=accountant,
                                        patient_id=stranger.id, now=NOW),
        lambda: availability.desk_slots(accountant, practitioner.id, reason.id, SLOT.date(), SLOT.date()),
    ]
    for refusal in refusals:
        with pytest.raises(Forbidden):
            refusal()
    for refusal in (lambda: appointments.mark_arrived(appointment.id, by=accountant, now=SLOT),
                    lambda: appointments.mark_no_show(appointment.id, by=accountant, now=SLOT),
                    lambda: appointments.cancel_appointment(appointment.id, by=accountant, reason="Non")):
        with pytest.raises(NotFound):
            refusal()
    assert failures() == 0


def test_a_clinic_secretary_runs_the_desk(stranger):
    clinic = factories.make_clinic()
    practitioner, reason = open_practice(factories.make_practitioner(clinic=clinic))
    secretary = factories.make_staff(clinic=clinic)
    assert agendas.managed_practitioners(secretary) == [practitioner] and agendas.works_at_a_desk(secretary)
    appointment = desk_book(practitioner, reason, secretary, patient_identity=identity(stranger))
    assert appointments.mark_arrived(appointment.id, by=secretary, now=SLOT).arrived_at == SLOT


def test_the_operators_staff_and_admins_have_no_desk():
    for user in (factories.make_staff(), factories.make_staff(role=Role.ADMIN)):
        assert not agendas.works_at_a_desk(user)
        with pytest.raises(Forbidden):
            appointments.appointments_of(user, "upcoming")
