"""Booking services: settings, availability, booking, cancel, reschedule, marks, waiting list."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.billing.factories import make_subscription
from tests.booking.factories import (
    PARIS,
    local_start,
    make_appointment,
    make_visit_reason,
    open_practice,
)
from webapp.accounts.models import Role
from webapp.billing.models import SubscriptionStatus
from webapp.booking import appointments, desk, settings, signals, waitlist
from webapp.booking import availability as booking_availability
from webapp.booking.errors import (
    AppointmentNotActive,
    AppointmentNotStarted,
    CancellationDeadlinePassed,
    InvalidBookingData,
    NotASlotBoundary,
    NotBookableOnline,
    ReasonNotForThisPatient,
    SlotUnavailable,
)
from webapp.booking.models import Absence, Appointment, AppointmentStatus, OccupiedCell, WaitlistStatus
from webapp.booking.rules import MAX_VISIT_MINUTES
from webapp.errors import Conflict, Forbidden, NotFound
from webapp.extensions import db
from webapp.transaction import transaction

pytestmark = pytest.mark.usefixtures("in_request")  # services run inside a request


def book(practitioner, reason, start, by, **kwargs):
    with transaction():
        return appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=start,
                                         by=by, **kwargs)


@pytest.fixture
def patient():
    return factories.make_patient()


@pytest.fixture
def received():
    """Every booking signal sent during the test, as (name, kwargs)."""
    events = []
    handlers = []
    for sig in (signals.appointment_booked, signals.appointment_cancelled, signals.appointment_rescheduled,
                signals.waitlist_offer_made):
        def handler(sender, _name=sig.name, **kwargs):
            events.append((_name, kwargs))
        sig.connect(handler)
        handlers.append((sig, handler))
    yield events
    for sig, handler in handlers:
        sig.disconnect(handler)


# --- Settings ---------------------------------------------------------------------------

@pytest.mark.parametrize(("values", "field"), [
    ({"duration_minutes": -30}, "duration_minutes"),
    ({"duration_minutes": 0}, "duration_minutes"),
    ({"duration_minutes": 17}, "duration_minutes"),
    ({"duration_minutes": 600}, "duration_minutes"),
    ({"price_cents": -1}, "price_cents"),
    ({"label": "  "}, "label"),
    ({"new_patients": False, "returning_patients": False}, "new_patients"),
])
def test_visit_reason_refuses_bad_values(values, field):
    practitioner = factories.make_practitioner()
    with pytest.raises(InvalidBookingData) as error:
        settings.create_visit_reason(practitioner.user, **({"label": "Consultation", "duration_minutes": 30,
                                                            "price_cents": 3000} | values))
    assert field in error.value.fields


def test_only_a_practitioner_creates_visit_reasons(patient):
    staff = factories.make_staff()
    for user in (patient.account, staff):
        with pytest.raises(Forbidden):
            settings.create_visit_reason(user, label="Consultation", duration_minutes=30, price_cents=3000)


def test_another_practitioners_reason_is_not_found():
    practitioner, reason = open_practice()
    other = factories.make_practitioner()
    with pytest.raises(NotFound):
        settings.update_visit_reason(other.user, reason.id, label="Stolen")
    with pytest.raises(NotFound):
        settings.archive_visit_reason(other.user, reason.id)


def test_archived_reason_keeps_its_appointments_but_cannot_be_booked(practice, patient):
    practitioner, reason = practice
    appointment = book(practitioner, reason, local_start(3), patient.account)
    with transaction():
        settings.archive_visit_reason(practitioner.user, reason.id)
    assert settings.visit_reasons_of(practitioner.id) == []
    assert db.session.get(Appointment, appointment.id).visit_reason_id == reason.id
    with pytest.raises(InvalidBookingData) as error:
        book(practitioner, reason, local_start(4), patient.account)
    assert "visit_reason_id" in error.value.fields


def _week(*ranges):
    return [{"weekday": day, "start": dt.time.fromisoformat(start), "end": dt.time.fromisoformat(end)}
            for day, start, end in ranges]


def test_schedule_accepts_several_ranges_a_day_and_replaces_the_old_hours():
    practitioner = factories.make_practitioner()
    with transaction():
        settings.update_schedule(practitioner.user, weekly=_week((0, "08:00", "12:00"), (0, "14:00", "18:00")),
                                 buffer_minutes=10, timezone="Europe/Paris")
    with transaction():
        settings.update_schedule(practitioner.user, weekly=_week((1, "09:00", "12:00"), (1, "12:00", "13:00")))
    hours = settings.weekly_hours_of(practitioner.id)
    assert [(row.weekday, row.start_time.hour) for row in hours] == [(1, 9), (1, 12)]
    assert settings.schedule_of(practitioner.id).buffer_minutes == 0


@pytest.mark.parametrize(("weekly", "values", "field"), [
    (_week((0, "09:00", "12:00"), (0, "11:00", "14:00")), {}, "weekly"),
    (_week((0, "12:00", "09:00")), {}, "weekly"),
    (_week((0, "09:03", "12:00")), {}, "weekly"),
    (_week((7, "09:00", "12:00")), {}, "weekly"),
    ([], {"timezone": "Mars/Olympus"}, "timezone"),
    ([], {"buffer_minutes": -5}, "buffer_minutes"),
    ([], {"min_notice_minutes": -1}, "min_notice_minutes"),
    ([], {"horizon_days": 0}, "horizon_days"),
    ([], {"cancellation_deadline_hours": -2}, "cancellation_deadline_hours"),
    ([], {"slot_step_minutes": 7}, "slot_step_minutes"),
])
def test_schedule_refuses_bad_values_without_writing(weekly, values, field):
    practitioner = factories.make_practitioner()
    with pytest.raises(InvalidBookingData) as error:
        with transaction():
            settings.update_schedule(practitioner.user, weekly=weekly, **values)
    assert field in error.value.fields
    assert settings.weekly_hours_of(practitioner.id) == []


def test_absence_must_end_after_it_starts_and_belongs_to_its_practitioner():
    practitioner = factories.make_practitioner()
    start = local_start(2)
    with pytest.raises(InvalidBookingData):
        settings.add_absence(practitioner.user, start_at=start, end_at=start)
    with transaction():
        absence = settings.add_absence(practitioner.user, start_at=start, end_at=start + dt.timedelta(days=1),
                                       reason="Congrès")
    with pytest.raises(NotFound):
        settings.delete_absence(factories.make_practitioner().user, absence.id)
    with transaction():
        settings.delete_absence(practitioner.user, absence.id)
    assert db.session.scalar(sa.select(sa.func.count(Absence.id))) == 0


# --- Slots through the services ------------------------------------------------------------

def test_slots_range_is_checked(practice):
    practitioner, reason = practice
    today = dt.date.today()
    with pytest.raises(InvalidBookingData):
        booking_availability.available_slots(practitioner.id, reason.id, today, today - dt.timedelta(days=1))
    with pytest.raises(InvalidBookingData):
        booking_availability.available_slots(practitioner.id, reason.id, today, today + dt.timedelta(days=62))
    assert booking_availability.available_slots(practitioner.id, reason.id, today, today + dt.timedelta(days=61))


def test_slots_leave_out_appointments_absences_and_notice(practice, patient):
    practitioner, reason = practice
    day = local_start(3).date()
    make_appointment(practitioner, patient, local_start(3, 10), reason=reason)
    db.session.add(Absence(practitioner_id=practitioner.id, start_at=local_start(3, 14), end_at=local_start(3, 16)))
    db.session.commit()
    starts = {slot.start_at for slot in booking_availability.available_slots(practitioner.id, reason.id, day, day)}
    assert local_start(3, 9, 30) in starts and local_start(3, 10, 30) in starts
    assert local_start(3, 10) not in starts
    assert not any(local_start(3, 14) <= start < local_start(3, 16) for start in starts)
    assert len(starts) == 24 - 1 - 4


def test_availability_keeps_the_longest_visit_that_began_before_the_window(patient):
    # The busy-time query bounds its index range by the longest visit: check both sides of that bound.
    first_day = local_start(20).date()
    window_start = dt.datetime.combine(first_day - dt.timedelta(days=2), dt.time(), dt.UTC)
    longest = dt.timedelta(minutes=MAX_VISIT_MINUTES)
    overlapping, _ = open_practice(reason_overrides={"duration_minutes": MAX_VISIT_MINUTES})
    ending_at_the_start, _ = open_practice(reason_overrides={"duration_minutes": MAX_VISIT_MINUTES})
    make_appointment(overlapping, patient, window_start - longest + dt.timedelta(minutes=5),
                     reason=settings.visit_reasons_of(overlapping.id)[0])
    make_appointment(ending_at_the_start, patient, window_start - longest,
                     reason=settings.visit_reasons_of(ending_at_the_start.id)[0])
    availability = booking_availability.load_availability([overlapping.id, ending_at_the_start.id], first_day,
                                                          first_day)
    assert availability[overlapping.id].appointments == [
        (window_start - longest + dt.timedelta(minutes=5), window_start + dt.timedelta(minutes=5))]
    assert availability[ending_at_the_start.id].appointments == []


def test_cancelled_appointments_free_their_slot(practice, patient):
    practitioner, reason = practice
    make_appointment(practitioner, patient, local_start(3, 10), reason=reason, status=AppointmentStatus.CANCELLED)
    day = local_start(3).date()
    assert local_start(3, 10) in {
        slot.start_at for slot in booking_availability.available_slots(practitioner.id, reason.id, day, day)}


def test_next_available_is_the_first_free_start_of_any_reason(patient):
    practitioner, reason = open_practice(min_notice_minutes=0)
    make_visit_reason(practitioner, label="Long", duration_minutes=60)
    closed = factories.make_practitioner()
    no_reason = factories.make_practitioner()
    result = booking_availability.next_available_starts([practitioner.id, closed.id, no_reason.id])
    assert result[closed.id] is None and result[no_reason.id] is None
    first = result[practitioner.id]
    assert first is not None and first > dt.datetime.now(dt.UTC)
    assert first - dt.datetime.now(dt.UTC) < dt.timedelta(days=1)


def test_next_available_looks_beyond_the_first_week():
    practitioner, reason = open_practice()
    db.session.add(Absence(practitioner_id=practitioner.id, start_at=local_start(-1, 0), end_at=local_start(20, 0)))
    db.session.commit()
    first = booking_availability.next_available_starts([practitioner.id])[practitioner.id]
    assert first == local_start(20, 8)


# --- Booking ---------------------------------------------------------------------------------

def test_patient_books_for_self_by_default(practice, patient, received):
    practitioner, reason = practice
    appointment = book(practitioner, reason, local_start(2), patient.account, message="  Première visite  ")
    assert appointment.patient_id == patient.id and appointment.status is AppointmentStatus.BOOKED
    assert appointment.end_at - appointment.start_at == dt.timedelta(minutes=30)
    assert appointment.message == "Première visite" and not appointment.booked_at_desk
    assert len(appointment.cells) == 6
    assert [name for name, _ in received] == ["appointment-booked"]
    assert received[0][1]["appointment"] is appointment and received[0][1]["actor"] is patient.account


def test_patient_books_for_a_relative_but_not_for_a_stranger(practice, patient):
    practitioner, reason = practice
    relative = factories.make_relative(patient.account)
    stranger = factories.make_patient()
    appointment = book(practitioner, reason, local_start(2), patient.account, patient_id=relative.id)
    assert appointment.patient_id == relative.id
    with pytest.raises(NotFound):
        book(practitioner, reason, local_start(2, 11), patient.account, patient_id=stranger.id)


def test_admin_cannot_book(practice, patient):
    practitioner, reason = practice
    admin = factories.make_user(role=Role.ADMIN)
    with pytest.raises(Forbidden):
        book(practitioner, reason, local_start(2), admin, patient_id=patient.id)


def test_unknown_practitioner_is_not_found(patient):
    with pytest.raises(NotFound):
        appointments.book_appointment(practitioner_id=999_999, visit_reason_id=1, start_at=local_start(2),
                                  by=patient.account)


def test_reason_of_another_practitioner_is_invalid(practice, patient):
    practitioner, _ = practice
    _, other_reason = open_practice()
    with pytest.raises(InvalidBookingData) as error:
        book(practitioner, other_reason, local_start(2), patient.account)
    assert "visit_reason_id" in error.value.fields


@pytest.mark.parametrize("minute", [10, 3])
def test_a_start_off_the_grid_is_not_a_slot_boundary(practice, patient, minute):
    practitioner, reason = practice
    with pytest.raises(NotASlotBoundary) as error:
        book(practitioner, reason, local_start(2, 10, minute), patient.account)
    assert error.value.status == 422 and "start" in error.value.fields


def test_a_start_outside_the_hours_is_unavailable(practice, patient):
    practitioner, reason = practice
    with pytest.raises(SlotUnavailable):
        book(practitioner, reason, local_start(2, 22), patient.account)
    with pytest.raises(SlotUnavailable):
        book(practitioner, reason, local_start(2, 19, 30) + dt.timedelta(minutes=30), patient.account)
    long_reason = make_visit_reason(practitioner, label="Long", duration_minutes=60)
    settings.update_schedule(practitioner.user, weekly=_week(*[(day, "08:00", "20:00") for day in range(7)]),
                             min_notice_minutes=0, slot_step_minutes=30, closed_on_public_holidays=False)
    with pytest.raises(SlotUnavailable):  # on the grid, but would end after 20:00
        book(practitioner, long_reason, local_start(2, 19, 30), patient.account)


def test_a_taken_slot_is_unavailable_and_nothing_is_written(practice, patient):
    practitioner, reason = practice
    book(practitioner, reason, local_start(2), patient.account)
    with pytest.raises(SlotUnavailable):
        book(practitioner, reason, local_start(2), factories.make_patient().account)
    assert db.session.scalar(sa.select(sa.func.count(Appointment.id))) == 1


def test_an_overlapping_longer_visit_is_unavailable(practice, patient):
    practitioner, reason = practice
    long_reason = make_visit_reason(practitioner, label="Long", duration_minutes=60)
    book(practitioner, reason, local_start(2, 10, 30), patient.account)
    with pytest.raises(SlotUnavailable):
        book(practitioner, long_reason, local_start(2, 10), factories.make_patient().account)


def test_min_notice_horizon_absence_and_buffer_are_enforced_online(patient):
    practitioner, reason = open_practice(min_notice_minutes=48 * 60, horizon_days=10, buffer_minutes=30)
    with pytest.raises(SlotUnavailable):
        book(practitioner, reason, local_start(1), patient.account)
    with pytest.raises(SlotUnavailable):
        book(practitioner, reason, local_start(12), patient.account)
    db.session.add(Absence(practitioner_id=practitioner.id, start_at=local_start(5, 0), end_at=local_start(6, 0)))
    db.session.commit()
    with pytest.raises(SlotUnavailable):
        book(practitioner, reason, local_start(5), patient.account)
    book(practitioner, reason, local_start(4, 10), patient.account)
    with pytest.raises(SlotUnavailable):
        book(practitioner, reason, local_start(4, 10, 30), factories.make_patient().account)
    book(practitioner, reason, local_start(4, 11), factories.make_patient().account)


def test_public_holidays_are_closed_by_default(patient):
    practitioner, reason = open_practice(closed_on_public_holidays=True)
    christmas = dt.date(dt.date.today().year + 1, 12, 25)
    days_ahead = (christmas - dt.datetime.now(PARIS).date()).days
    practitioner_schedule = settings.schedule_of(practitioner.id)
    practitioner_schedule.horizon_days = 365
    db.session.commit()
    start = local_start(days_ahead)
    with pytest.raises(SlotUnavailable):
        appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=start,
                                  by=patient.account, now=start - dt.timedelta(days=10))


def test_new_patient_only_reason_refuses_a_returning_patient_and_vice_versa(practice, patient):
    practitioner, reason = practice
    first_visit = make_visit_reason(practitioner, label="Première consultation", returning_patients=False)
    follow_up = make_visit_reason(practitioner, label="Suivi", new_patients=False)
    with pytest.raises(ReasonNotForThisPatient):
        book(practitioner, follow_up, local_start(2), patient.account)
    book(practitioner, first_visit, local_start(2), patient.account)
    with pytest.raises(ReasonNotForThisPatient):
        book(practitioner, first_visit, local_start(3), patient.account)
    assert book(practitioner, follow_up, local_start(3), patient.account).visit_reason_id == follow_up.id


def test_suspended_practitioner_refuses_online_booking_but_not_the_desk(practice, patient):
    practitioner, reason = practice
    make_subscription(practitioner, status=SubscriptionStatus.SUSPENDED)
    with pytest.raises(NotBookableOnline):
        book(practitioner, reason, local_start(2), patient.account)
    assert booking_availability.available_slots(practitioner.id, reason.id, dt.date.today(), dt.date.today()) == []
    assert desk_book(practitioner, reason, local_start(2), practitioner.user, patient).booked_at_desk


# --- Desk booking ---------------------------------------------------------------------------------

def identity_of(patient, **changes) -> desk.PatientIdentity:
    values = {"first_name": patient.first_name, "last_name": patient.last_name, "birth_date": patient.birth_date}
    return desk.PatientIdentity.of(**(values | changes))


def desk_book(practitioner, reason, start, by, patient):
    """A desk booking for a patient reached by their full identity."""
    return book(practitioner, reason, start, by, patient_identity=identity_of(patient))


def test_practitioner_books_at_the_desk_ignoring_notice_and_buffer(patient):
    practitioner, reason = open_practice(min_notice_minutes=72 * 60, buffer_minutes=30)
    appointment = desk_book(practitioner, reason, local_start(1, 10), practitioner.user, patient)
    assert appointment.booked_at_desk and appointment.booked_by_user_id == practitioner.user_id
    desk_book(practitioner, reason, local_start(1, 10, 30), practitioner.user, factories.make_patient())
    with pytest.raises(SlotUnavailable):
        desk_book(practitioner, reason, local_start(1, 10), practitioner.user, factories.make_patient())


def test_desk_booking_needs_a_patient_and_stays_in_managed_agendas(practice, patient):
    practitioner, reason = practice
    with pytest.raises(InvalidBookingData) as error:
        book(practitioner, reason, local_start(2), practitioner.user)
    assert "patient_id" in error.value.fields
    with pytest.raises(NotFound):
        book(practitioner, reason, local_start(2), practitioner.user, patient_id=999_999)
    with pytest.raises(NotFound):
        book(practitioner, reason, local_start(2), practitioner.user, patient_id=999_999,
             patient_identity=identity_of(patient))
    with pytest.raises(Forbidden):
        desk_book(practitioner, reason, local_start(2), factories.make_practitioner().user, patient)


def test_the_desk_books_a_patient_it_never_saw_only_with_their_full_identity(practice, patient):
    practitioner, reason = practice
    with pytest.raises(NotFound):
        book(practitioner, reason, local_start(2), practitioner.user, patient_id=patient.id)
    for wrong in ({"birth_date": patient.birth_date + dt.timedelta(days=1)}, {"first_name": "Marion"},
                  {"last_name": "Autre"}):
        with pytest.raises(NotFound):
            book(practitioner, reason, local_start(2), practitioner.user,
                 patient_identity=identity_of(patient, **wrong))
    assert not db.session.scalars(sa.select(Appointment)).all()
    first = desk_book(practitioner, reason, local_start(2), practitioner.user, patient)
    with transaction():
        appointments.cancel_appointment(first.id, by=practitioner.user, reason="Empêchement")
    # Seen once (even cancelled), the patient is known to the practice.
    assert book(practitioner, reason, local_start(3), practitioner.user, patient_id=patient.id).patient_id == patient.id
    other, other_reason = open_practice()
    with pytest.raises(NotFound):
        book(other, other_reason, local_start(2), other.user, patient_id=patient.id)


def test_clinic_staff_book_for_their_practitioners_only(patient):
    clinic = factories.make_clinic()
    practitioner, reason = open_practice(factories.make_practitioner(clinic=clinic))
    outsider, outsider_reason = open_practice()
    secretary = factories.make_staff(clinic=clinic)
    other_secretary = factories.make_staff(clinic=factories.make_clinic())
    assert desk_book(practitioner, reason, local_start(2), secretary, patient).booked_at_desk
    with pytest.raises(Forbidden):
        desk_book(outsider, outsider_reason, local_start(2), secretary, patient)
    with pytest.raises(Forbidden):
        desk_book(practitioner, reason, local_start(3), other_secretary, patient)


def create_desk_patient(practitioner, by=None, **values):
    values = {"first_name": "Louise", "last_name": "Moreau", "birth_date": dt.date(1950, 2, 3),
              "email": "louise@example.com"} | values
    with transaction():
        return desk.create_desk_patient(by or practitioner.user, practitioner_id=practitioner.id, **values)


def test_desk_creates_a_patient_profile_without_account_known_to_its_practice():
    clinic = factories.make_clinic()
    practitioner = factories.make_practitioner(clinic=clinic)
    profile = create_desk_patient(practitioner, first_name=" Louise ", email=None, phone="06 12 34 56 78")
    assert profile.account_id is None and profile.first_name == "Louise"
    assert profile.desk_practitioner_id == practitioner.id
    assert desk.find_patients(practitioner.user, "louise mor") == [profile]
    assert desk.find_patients(factories.make_staff(clinic=clinic), "moreau") == [profile]
    assert desk.find_patients(practitioner.user, "x") == []
    assert desk.find_patients(factories.make_practitioner().user, "louise mor") == []


def test_secretaries_create_desk_patients_only_in_the_agendas_they_manage():
    clinic = factories.make_clinic()
    practitioner = factories.make_practitioner(clinic=clinic)
    assert create_desk_patient(practitioner, by=factories.make_staff(clinic=clinic)).desk_practitioner_id == \
        practitioner.id
    for outsider in (factories.make_staff(clinic=factories.make_clinic()), factories.make_practitioner().user):
        with pytest.raises(Forbidden):
            create_desk_patient(practitioner, by=outsider)


@pytest.mark.parametrize(("values", "field"), [
    ({"first_name": ""}, "first_name"),
    ({"birth_date": dt.date.today() + dt.timedelta(days=1)}, "birth_date"),
    ({"email": None, "phone": None}, "email"),
])
def test_desk_patient_refuses_bad_values(values, field):
    with pytest.raises(InvalidBookingData) as error:
        create_desk_patient(factories.make_practitioner(), **values)
    assert field in error.value.fields


def test_the_desk_finds_patients_it_never_saw_only_by_full_name_and_birth_date():
    practitioner = factories.make_practitioner()
    stranger = factories.make_patient(first_name="Hélène", last_name="Le Gall-Durand", birth_date=dt.date(1961, 7, 8))
    born = stranger.birth_date
    for text, birth_date in (("le gall", None), ("helene", born), ("Hélène Le Gall", born),
                             ("Hélène Le Gall-Durand", born + dt.timedelta(days=1))):
        assert desk.find_patients(practitioner.user, text, birth_date=birth_date) == [], text
    for text in ("Hélène Le Gall-Durand", "helene le gall durand", "LE GALL-DURAND  Hélène"):
        assert desk.find_patients(practitioner.user, text, birth_date=born) == [stranger], text
    known = create_desk_patient(practitioner, first_name="Hélène", last_name="Martin", birth_date=born)
    assert desk.find_patients(practitioner.user, "hélène", birth_date=born) == [known]


def test_patients_and_admins_cannot_create_desk_profiles_or_search_patients(patient):
    practitioner = factories.make_practitioner()
    for user in (patient.account, factories.make_user(role=Role.ADMIN)):
        with pytest.raises(Forbidden):
            create_desk_patient(practitioner, by=user)
        with pytest.raises(Forbidden):
            desk.find_patients(user, "Marie")
        with pytest.raises(Forbidden):
            desk.desk_patient(user, patient.id, identity=identity_of(patient))


# --- Cancel ----------------------------------------------------------------------------------------

def test_patient_cancels_before_the_deadline_and_the_slot_is_free_again(practice, patient, received):
    practitioner, reason = practice
    appointment = book(practitioner, reason, local_start(3), patient.account)
    with transaction():
        appointments.cancel_appointment(appointment.id, by=patient.account, reason="Empêchement")
    appointment = db.session.get(Appointment, appointment.id)
    assert appointment.status is AppointmentStatus.CANCELLED and appointment.cancel_reason == "Empêchement"
    assert appointment.cancelled_by_user_id == patient.account.id and appointment.cells == []
    assert ("appointment-cancelled" in [name for name, _ in received])
    book(practitioner, reason, local_start(3), factories.make_patient().account)


def test_patient_cannot_cancel_after_the_deadline(practice, patient):
    practitioner, reason = practice
    appointment = book(practitioner, reason, local_start(3), patient.account)
    late = appointment.start_at - dt.timedelta(hours=23)
    with pytest.raises(CancellationDeadlinePassed) as error:
        appointments.cancel_appointment(appointment.id, by=patient.account, now=late)
    assert error.value.status == 409
    with transaction():
        appointments.cancel_appointment(appointment.id, by=patient.account, now=late - dt.timedelta(hours=2))


def test_practitioner_cancels_any_time_with_a_reason(practice, patient):
    practitioner, reason = practice
    appointment = book(practitioner, reason, local_start(3), patient.account)
    with pytest.raises(InvalidBookingData):
        appointments.cancel_appointment(appointment.id, by=practitioner.user, reason=" ")
    with transaction():
        appointments.cancel_appointment(appointment.id, by=practitioner.user, reason="Urgence",
                                    now=appointment.start_at - dt.timedelta(minutes=5))
    assert db.session.get(Appointment, appointment.id).status is AppointmentStatus.CANCELLED


def test_strangers_cannot_see_or_cancel(practice, patient):
    practitioner, reason = practice
    appointment = book(practitioner, reason, local_start(3), patient.account)
    for outsider in (factories.make_patient().account, factories.make_practitioner().user, factories.make_staff(),
                     factories.make_user(role=Role.ADMIN)):
        with pytest.raises(NotFound):
            appointments.cancel_appointment(appointment.id, by=outsider, reason="x")
        with pytest.raises(NotFound):
            appointments.appointment_for(outsider, appointment.id)


def test_a_cancelled_appointment_cannot_be_cancelled_again(practice, patient):
    practitioner, reason = practice
    appointment = book(practitioner, reason, local_start(3), patient.account)
    with transaction():
        appointments.cancel_appointment(appointment.id, by=patient.account)
    with pytest.raises(AppointmentNotActive):
        appointments.cancel_appointment(appointment.id, by=patient.account)


# --- Reschedule --------------------------------------------------------------------------------------

def test_reschedule_moves_the_appointment_and_frees_the_old_slot(practice, patient, received):
    practitioner, reason = practice
    appointment = book(practitioner, reason, local_start(3), patient.account)
    with transaction():
        appointments.reschedule_appointment(appointment.id,
                                            new_start_at=local_start(3, 10, 15) + dt.timedelta(minutes=15),
                                        by=patient.account)
    appointment = db.session.get(Appointment, appointment.id)
    assert appointment.start_at == local_start(3, 10, 30) and appointment.rescheduled_count == 1
    assert {cell.cell_start_at for cell in appointment.cells} == {
        local_start(3, 10, 30) + dt.timedelta(minutes=5 * n) for n in range(6)}
    rescheduled = [kwargs for name, kwargs in received if name == "appointment-rescheduled"]
    assert rescheduled[0]["previous_start_at"] == local_start(3, 10)
    book(practitioner, reason, local_start(3, 10), factories.make_patient().account)


def test_reschedule_is_atomic_when_the_new_slot_is_taken(practice, patient):
    practitioner, reason = practice
    appointment = book(practitioner, reason, local_start(3), patient.account)
    book(practitioner, reason, local_start(4), factories.make_patient().account)
    with pytest.raises(SlotUnavailable):
        with transaction():
            appointments.reschedule_appointment(appointment.id, new_start_at=local_start(4), by=patient.account)
    appointment = db.session.get(Appointment, appointment.id)
    assert appointment.start_at == local_start(3) and len(appointment.cells) == 6
    with pytest.raises(SlotUnavailable):
        book(practitioner, reason, local_start(3), factories.make_patient().account)


def test_reschedule_to_an_overlapping_later_start_is_allowed(practice, patient):
    practitioner, reason = practice
    appointment = book(practitioner, reason, local_start(3, 10), patient.account)
    with transaction():
        appointments.reschedule_appointment(appointment.id, new_start_at=local_start(3, 10, 30), by=practitioner.user)
    assert db.session.get(Appointment, appointment.id).start_at == local_start(3, 10, 30)


def test_patient_cannot_reschedule_after_the_deadline(practice, patient):
    practitioner, reason = practice
    appointment = book(practitioner, reason, local_start(3), patient.account)
    with pytest.raises(CancellationDeadlinePassed):
        appointments.reschedule_appointment(appointment.id, new_start_at=local_start(4), by=patient.account,
                                        now=appointment.start_at - dt.timedelta(hours=1))


# --- Marks ---------------------------------------------------------------------------------------

def test_no_show_and_completed_only_once_started_and_only_by_the_practice(practice, patient):
    practitioner, reason = practice
    first = book(practitioner, reason, local_start(3), patient.account)
    second = book(practitioner, reason, local_start(3, 11), patient.account)
    with pytest.raises(AppointmentNotStarted):
        appointments.mark_no_show(first.id, by=practitioner.user)
    after = second.start_at + dt.timedelta(minutes=10)
    with pytest.raises(Forbidden):
        appointments.mark_completed(first.id, by=patient.account, now=after)
    with transaction():
        appointments.mark_no_show(first.id, by=practitioner.user, now=after)
        appointments.mark_completed(second.id, by=practitioner.user, now=after)
    assert db.session.get(Appointment, first.id).status is AppointmentStatus.NO_SHOW
    assert db.session.get(Appointment, second.id).status is AppointmentStatus.COMPLETED
    with pytest.raises(AppointmentNotActive):
        appointments.mark_completed(first.id, by=practitioner.user, now=after)
    # A missed visit keeps its time taken.
    assert len(db.session.get(Appointment, first.id).cells) == 6


# --- Waiting list ------------------------------------------------------------------------------------

def test_a_cancellation_offers_the_freed_slot_to_the_first_matching_waiting_patient(practice, patient, received):
    practitioner, reason = practice
    appointment = book(practitioner, reason, local_start(3), patient.account)
    too_late_wish, first, second = (factories.make_patient() for _ in range(3))
    with transaction():
        waitlist.join_waitlist(practitioner_id=practitioner.id, visit_reason_id=reason.id,
                               before_at=local_start(2), by=too_late_wish.account)
        entry = waitlist.join_waitlist(practitioner_id=practitioner.id, visit_reason_id=reason.id,
                                       before_at=local_start(10), by=first.account)
        waitlist.join_waitlist(practitioner_id=practitioner.id, visit_reason_id=reason.id,
                               before_at=local_start(10), by=second.account)
    with transaction():
        appointments.cancel_appointment(appointment.id, by=patient.account)
    entry = db.session.get(type(entry), entry.id)
    assert entry.status is WaitlistStatus.OFFERED and entry.offered_start_at == local_start(3)
    offers = [kwargs for name, kwargs in received if name == "waitlist-offer-made"]
    assert len(offers) == 1 and offers[0]["entry"].id == entry.id and offers[0]["start_at"] == local_start(3)
    # Booking the offered slot closes the entry.
    book(practitioner, reason, local_start(3), first.account)
    assert db.session.get(type(entry), entry.id).status is WaitlistStatus.CLOSED


def test_waitlist_rules(practice, patient):
    practitioner, reason = practice
    with pytest.raises(Forbidden):
        waitlist.join_waitlist(practitioner_id=practitioner.id, visit_reason_id=reason.id, before_at=local_start(5),
                               by=practitioner.user)
    with pytest.raises(InvalidBookingData):
        waitlist.join_waitlist(practitioner_id=practitioner.id, visit_reason_id=reason.id, before_at=local_start(-1),
                               by=patient.account)
    with transaction():
        waitlist.join_waitlist(practitioner_id=practitioner.id, visit_reason_id=reason.id, before_at=local_start(5),
                               by=patient.account)
    with pytest.raises(Conflict) as error:
        waitlist.join_waitlist(practitioner_id=practitioner.id, visit_reason_id=reason.id, before_at=local_start(6),
                               by=patient.account)
    assert error.value.code == "already_on_waitlist"


# --- The database itself refuses overlaps ---------------------------------------------------------------

def test_the_database_refuses_a_second_appointment_over_the_same_minutes(practice, patient):
    practitioner, reason = practice
    make_appointment(practitioner, patient, local_start(3, 10), reason=reason)
    intruder = Appointment(practitioner_id=practitioner.id, patient_id=patient.id, visit_reason_id=reason.id,
                           start_at=local_start(3, 10, 15), end_at=local_start(3, 10, 45))
    intruder.cells = appointments.occupied_cells_for(practitioner.id, intruder.start_at, intruder.end_at)
    db.session.add(intruder)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(OccupiedCell.appointment_id))) == 6
