"""The settings behind the grid: opening hours as time pickers with breaks (checked with French messages,
the API's schedule unchanged), and absences that warn about booked appointments before cancelling them."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import PARIS, make_appointment, make_schedule, make_visit_reason, make_weekly_hours
from tests.notifications.factories import outbox
from webapp.booking.models import Absence, Appointment, AppointmentStatus, WaitlistEntry, WaitlistStatus, WeeklyHours
from webapp.extensions import db
from webapp.notifications.services import open_email

MONDAY = dt.date(2025, 12, 1)  # a fixed past date the app's clock is frozen on (see test_agenda_grid.py)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), PARIS)


def html(response) -> str:
    return response.get_data(as_text=True)


def saved_hours(practitioner) -> list[tuple[int, str, str]]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(WeeklyHours).where(WeeklyHours.practitioner_id == practitioner.id)
                              .order_by(WeeklyHours.weekday, WeeklyHours.start_time))
    return [(row.weekday, f"{row.start_time:%H:%M}", f"{row.end_time:%H:%M}") for row in rows]


# --- Opening hours -------------------------------------------------------------------------------

def test_hours_are_time_pickers_filled_with_the_saved_ranges(client, log_in):
    practitioner = log_in(factories.make_practitioner().user).practitioner_profile
    make_weekly_hours(practitioner, [(0, "09:00", "12:00"), (0, "14:00", "18:30")])
    page = html(client.get("/settings/hours"))
    assert '<input type="time" id="h-0-0-start" name="h-0-0-start" value="09:00"' in page
    assert 'name="h-0-1-end" value="18:30"' in page
    assert page.count("Fermé") == 6 and 'name="add" value="6"' in page and 'name="remove" value="0-1"' in page


def test_hours_save_several_ranges_a_day(form_post, log_in):
    practitioner = log_in(factories.make_practitioner().user).practitioner_profile
    response = form_post("/settings/hours", {"h-0-0-start": "09:00", "h-0-0-end": "12:00", "h-0-1-start": "14:00",
                                             "h-0-1-end": "18:00", "h-5-0-start": "09:00", "h-5-0-end": "12:00",
                                             "h-2-0-start": "", "h-2-0-end": "", "save": "1"})
    assert response.status_code == 302 and response.headers["Location"] == "/settings/booking"
    assert saved_hours(practitioner) == [(0, "09:00", "12:00"), (0, "14:00", "18:00"), (5, "09:00", "12:00")]


def test_adding_or_removing_a_range_saves_nothing_and_works_without_javascript(form_post, log_in):
    practitioner = log_in(factories.make_practitioner().user).practitioner_profile
    make_weekly_hours(practitioner, [(1, "09:00", "12:00")])
    added = html(form_post("/settings/hours", {"h-1-0-start": "08:00", "h-1-0-end": "12:00", "add": "1"}))
    assert 'name="h-1-0-start" value="08:00"' in added and 'name="h-1-1-start" value=""' in added
    removed = html(form_post("/settings/hours", {"h-1-0-start": "08:00", "h-1-0-end": "12:00", "h-1-1-start": "14:00",
                                                 "h-1-1-end": "17:00", "remove": "1-0"}))
    assert 'name="h-1-0-start" value="14:00"' in removed and "h-1-1-start" not in removed
    assert saved_hours(practitioner) == [(1, "09:00", "12:00")]


@pytest.mark.parametrize("fields, message", [
    ({"h-0-0-start": "09:00", "h-0-0-end": "12:00", "h-0-1-start": "11:00", "h-0-1-end": "13:00"},
     "Cette plage chevauche la plage 09:00–12:00 du même jour."),
    ({"h-3-0-start": "18:00", "h-3-0-end": "09:00"}, "La fin (09:00) doit venir après le début (18:00)."),
    ({"h-3-0-start": "09:00", "h-3-0-end": ""}, "Indiquez le début et la fin de la plage."),
    ({"h-3-0-start": "le matin", "h-3-0-end": "12:00"}, "Écrivez les heures ainsi : 09:00."),
    ({"h-3-0-start": "09:02", "h-3-0-end": "12:00"}, "Utilisez des heures multiples de 5 minutes."),
])
def test_bad_ranges_are_refused_next_to_the_range_and_nothing_is_saved(form_post, log_in, fields, message):
    practitioner = log_in(factories.make_practitioner().user).practitioner_profile
    make_weekly_hours(practitioner, [(4, "09:00", "12:00")])
    response = form_post("/settings/hours", fields | {"save": "1"})
    page = html(response)
    assert response.status_code == 200 and message in page and 'class="field-error"' in page
    assert 'aria-invalid="true"' in page and "Certaines plages ne sont pas valables" in page
    assert saved_hours(practitioner) == [(4, "09:00", "12:00")]


def test_the_api_reads_the_hours_the_page_saved_in_the_same_shape(client, form_post, log_in, api_token):
    practitioner = log_in(factories.make_practitioner().user).practitioner_profile
    form_post("/settings/hours", {"h-2-0-start": "08:30", "h-2-0-end": "12:00", "h-2-1-start": "13:30",
                                  "h-2-1-end": "17:00"})
    schedule = client.get("/api/v1/practitioners/me/schedule", headers=api_token(practitioner.user)).json
    assert schedule["weekly"] == [{"weekday": 2, "start": "08:30", "end": "12:00"},
                                  {"weekday": 2, "start": "13:30", "end": "17:00"}]


def test_hours_are_refused_to_anyone_but_a_practitioner(client, log_in):
    log_in(factories.make_staff(clinic=factories.make_clinic()))
    assert client.get("/settings/hours").status_code == 403


# --- Absences over booked appointments -----------------------------------------------------------

@pytest.fixture
def booked_week(frozen_clock, log_in):
    """A practitioner logged in on Monday 1 December 2025, with two appointments on Wednesday."""
    frozen_clock.set(at(MONDAY, 8).astimezone(dt.UTC))
    practitioner = factories.make_practitioner()
    make_schedule(practitioner)
    make_weekly_hours(practitioner)
    reason = make_visit_reason(practitioner)
    wednesday = MONDAY + dt.timedelta(days=2)
    first = make_appointment(practitioner, factories.make_patient(first_name="Léa", last_name="Morin"),
                             at(wednesday, 9), reason=reason)
    second = make_appointment(practitioner, factories.make_patient(last_name="Blanc"), at(wednesday, 15),
                              reason=reason)
    log_in(practitioner.user)
    return practitioner, reason, first, second


WEDNESDAY_FORM = {"start_date": "2025-12-03", "end_date": "2025-12-03", "reason": "Formation"}


def reload(appointment) -> Appointment:
    db.session.expire_all()
    return db.session.get(Appointment, appointment.id)


def test_an_absence_over_booked_appointments_lists_them_before_adding_anything(form_post, booked_week):
    _, _, first, second = booked_week
    response = form_post("/settings/absences", WEDNESDAY_FORM)
    page = html(response)
    assert response.status_code == 200 and "2 rendez-vous sont pris" in page
    assert "Léa Morin" in page and "Blanc" in page
    assert f'name="cancel" value="{first.id}" checked' in page and 'name="decision" value="keep"' in page
    assert 'name="start_date" value="2025-12-03"' in page and "Merci de reprendre un autre rendez-vous" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Absence)) == 0


def test_confirming_cancels_the_ticked_appointments_and_tells_their_patients(form_post, booked_week):
    practitioner, reason, first, second = booked_week
    waiting = WaitlistEntry(practitioner_id=practitioner.id, patient_id=factories.make_patient().id,
                            visit_reason_id=reason.id, before_at=at(MONDAY + dt.timedelta(days=20), 0),
                            created_by_user_id=practitioner.user_id)
    db.session.add(waiting)
    db.session.commit()
    response = form_post("/settings/absences", WEDNESDAY_FORM | {
        "decision": "cancel", "cancel": str(first.id),
        "message": "Je serai en formation, merci de reprendre rendez-vous."})
    assert response.status_code == 302
    assert reload(first).status is AppointmentStatus.CANCELLED and reload(second).status is AppointmentStatus.BOOKED
    assert reload(first).cancel_reason == "Je serai en formation, merci de reprendre rendez-vous."
    [mail] = outbox(key=f"booking-cancelled:{first.id}:patient")
    assert "Je serai en formation" in open_email(mail).text
    assert db.session.scalar(sa.select(Absence.reason)) == "Formation"
    assert db.session.get(WaitlistEntry, waiting.id).status is WaitlistStatus.WAITING  # no slot in an absence


def test_keeping_the_appointments_adds_the_absence_only(form_post, booked_week):
    _, _, first, second = booked_week
    response = form_post("/settings/absences", WEDNESDAY_FORM | {"decision": "keep", "cancel": str(first.id)})
    assert response.status_code == 302
    assert {reload(first).status, reload(second).status} == {AppointmentStatus.BOOKED}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Absence)) == 1
    assert outbox(key=f"booking-cancelled:{first.id}:patient") == []


def test_cancelling_without_a_message_asks_for_one_and_adds_nothing(form_post, booked_week):
    _, _, first, _ = booked_week
    page = html(form_post("/settings/absences", WEDNESDAY_FORM | {"decision": "cancel", "cancel": str(first.id),
                                                                  "message": "  "}))
    assert "Indiquez au patient le motif de l&#39;annulation." in page and 'class="field-error"' in page
    assert reload(first).status is AppointmentStatus.BOOKED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Absence)) == 0


def test_an_absence_over_no_appointment_is_added_at_once(form_post, booked_week):
    response = form_post("/settings/absences", {"start_date": "2025-12-04", "end_date": "2025-12-05"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Absence)) == 1
