"""Booking pages: search, practitioner page, booking flow, my appointments, agenda, desk, settings."""

import datetime as dt
import re

import pytest

from tests import factories
from tests.booking.factories import local_start, make_appointment, make_visit_reason, open_practice
from tests.conftest import csrf_token_of
from webapp.booking.models import (
    Absence,
    Appointment,
    AppointmentStatus,
    PractitionerSchedule,
    VisitReason,
    WaitlistEntry,
    WeeklyHours,
)
from webapp.extensions import db


def html(response) -> str:
    return response.get_data(as_text=True)


def reload(model, key):
    """The row as the requests left it (they ran in their own sessions)."""
    db.session.expire_all()
    return db.session.get(model, key)


def slot_links(page: str) -> list[str]:
    return re.findall(r'href="(/book/\d+\?[^"]+)"', page)


def slot_buttons(page: str) -> list[str]:
    """The starts offered as buttons of a hold form (results, practitioner page)."""
    return re.findall(r'class="slot" name="start" value="([^"]+)"', page)


# --- Search and practitioner page --------------------------------------------------------------

def test_home_search_form_points_to_the_search_page(client):
    assert 'action="/search"' in html(client.get("/"))


def test_search_page_in_french_with_next_availability(client):
    practitioner, _ = open_practice(factories.make_practitioner(last_name="Lefebvre", city="Biarritz",
                                                                postcode="64200"))
    factories.make_practitioner(last_name="Durand", city="Nantes")
    page = html(client.get("/search?place=64200"))
    assert "1 praticien trouvé" in page and "Lefebvre" in page and "Durand" not in page
    assert "Prochains créneaux" in page and slot_buttons(page)
    assert f"/practitioners/{practitioner.id}" in page
    english = html(client.get("/search?place=biarritz&q=lefeb", headers={"Accept-Language": "en"}))
    assert "1 practitioner found" in english and "Next slots" in english


def test_search_page_ignores_bad_parameters(client):
    assert client.get("/search?specialty=astrologer&page=abc&place=" + "x" * 500).status_code == 200


def test_practitioner_page_offers_a_week_of_slot_buttons(client):
    practitioner, reason = open_practice()
    other = make_visit_reason(practitioner, label="Vaccination", duration_minutes=15)
    page = html(client.get(f"/practitioners/{practitioner.id}"))
    assert "Consultation" in page and "Vaccination" in page and "30,00" in page
    assert f'name="reason" value="{reason.id}"' in page  # the oldest of equally booked reasons, preselected
    page = html(client.get(f"/practitioners/{practitioner.id}?reason={other.id}"))
    assert slot_buttons(page) and f'name="reason" value="{other.id}"' in page
    assert f'action="/book/{practitioner.id}/hold"' in page
    next_week = re.search(r'href="([^"]*week=[^"]*)"[^>]*>Semaine suivante', page).group(1).replace("&amp;", "&")
    assert slot_buttons(html(client.get(next_week)))


def test_unknown_practitioner_page_is_404(client):
    assert client.get("/practitioners/999999").status_code == 404


# --- Booking flow ---------------------------------------------------------------------------------

def test_booking_requires_login(client):
    practitioner, reason = open_practice()
    response = client.get(f"/book/{practitioner.id}?reason={reason.id}&start={local_start(2).isoformat()}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_patient_books_a_relative_from_a_slot_button(client, log_in, form_post):
    practitioner, reason = open_practice()
    patient = factories.make_patient()
    relative = factories.make_relative(patient.account, first_name="Alice")
    log_in(patient.account)
    page = html(client.get(f"/practitioners/{practitioner.id}?reason={reason.id}"))
    held = client.post(f"/book/{practitioner.id}/hold", data={
        "csrf_token": csrf_token_of(page), "reason": reason.id, "start": slot_buttons(page)[0]})
    link = held.headers["Location"]
    page = html(client.get(link))
    assert "Confirmez votre rendez-vous" in page and "Alice" in page
    response = form_post(link, {"patient_id": relative.id, "message": "Vaccin"})
    assert response.status_code == 302
    appointment = db.session.query(Appointment).one()
    assert appointment.patient_id == relative.id and appointment.message == "Vaccin"
    assert response.headers["Location"].endswith(f"/appointments/{appointment.id}")
    detail = html(client.get(response.headers["Location"]))
    assert "Votre rendez-vous est confirmé" in detail and ".ics" in detail


def test_a_slot_just_taken_shows_a_clear_message_and_the_next_free_slots(client, log_in, form_post):
    practitioner, reason = open_practice()
    make_appointment(practitioner, factories.make_patient(), local_start(2), reason=reason)
    patient = log_in(factories.make_patient().account)
    url = f"/book/{practitioner.id}?reason={reason.id}&start={local_start(2).isoformat().replace('+', '%2B')}"
    response = form_post(url, {"visit_reason_id": reason.id, "start": local_start(2).isoformat(),
                               "patient_id": patient.patient_profile.id})
    page = html(response)
    assert response.status_code == 200
    assert "Ce créneau n&#39;est plus disponible" in page and "Prochains créneaux libres" in page
    assert len(slot_links(page)) == 8
    assert db.session.query(Appointment).count() == 1


def test_booking_page_without_a_valid_slot_goes_back_to_the_practitioner(client, log_in):
    practitioner, reason = open_practice()
    log_in(factories.make_patient().account)
    for query in (f"reason={reason.id}&start=tomorrow", f"reason={reason.id}&start=2030-01-01T10:00:00",
                  "reason=abc&start=2030-01-01T10:00:00%2B01:00"):
        response = client.get(f"/book/{practitioner.id}?{query}")
        assert response.status_code == 302 and f"/practitioners/{practitioner.id}" in response.headers["Location"]


def test_practitioners_use_the_desk_not_the_patient_booking_page(client, log_in):
    practitioner, reason = open_practice()
    log_in(practitioner.user)
    url = f"/book/{practitioner.id}?reason={reason.id}&start={local_start(2).isoformat()}"
    assert client.get(url).status_code == 403


def test_patient_joins_the_waiting_list_from_the_practitioner_page(client, log_in, form_post):
    practitioner, reason = open_practice()
    patient = log_in(factories.make_patient().account)
    page = f"/practitioners/{practitioner.id}?reason={reason.id}"
    before = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    response = form_post(f"/practitioners/{practitioner.id}/waitlist",
                         {"visit_reason_id": reason.id, "patient_id": patient.patient_profile.id, "before": before},
                         page=page, follow_redirects=True)
    assert "liste d&#39;attente" in html(response)
    assert db.session.query(WaitlistEntry).one().patient_id == patient.patient_profile.id


# --- My appointments -----------------------------------------------------------------------------

def test_my_appointments_lists_and_cancels_before_the_deadline(client, log_in, form_post):
    practitioner, reason = open_practice()
    patient = factories.make_patient()
    upcoming = make_appointment(practitioner, patient, local_start(3), reason=reason)
    make_appointment(practitioner, patient, local_start(-3), reason=reason, status=AppointmentStatus.COMPLETED)
    log_in(patient.account)
    page = html(client.get("/appointments"))
    assert "À venir" in page and "Effectué" in page and f"/appointments/{upcoming.id}.ics" in page
    response = form_post(f"/appointments/{upcoming.id}/cancel", {"reason": "Empêché"},
                         page=f"/appointments/{upcoming.id}", follow_redirects=True)
    assert "Votre rendez-vous est annulé" in html(response)
    assert reload(Appointment, upcoming.id).status is AppointmentStatus.CANCELLED


def test_cancel_after_the_deadline_is_refused_with_a_message(client, log_in, form_post):
    practitioner, reason = open_practice(cancellation_deadline_hours=24 * 10)
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(3), reason=reason)
    log_in(patient.account)
    page = html(client.get(f"/appointments/{appointment.id}"))
    assert "Trop tard pour annuler" in page
    response = form_post(f"/appointments/{appointment.id}/cancel", {}, page="/appointments", follow_redirects=True)
    assert "Il est trop tard" in html(response)
    assert reload(Appointment, appointment.id).status is AppointmentStatus.BOOKED


def test_patient_reschedules_from_the_week_picker(client, log_in, form_post):
    practitioner, reason = open_practice()
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(3), reason=reason)
    log_in(patient.account)
    url = f"/appointments/{appointment.id}/reschedule?week={local_start(3).date().isoformat()}"
    assert "Déplacer le rendez-vous" in html(client.get(url))
    response = form_post(url, {"start": local_start(3, 15).isoformat()})
    assert response.status_code == 302
    assert reload(Appointment, appointment.id).start_at == local_start(3, 15)
    taken = make_appointment(practitioner, factories.make_patient(), local_start(4), reason=reason)
    response = form_post(url, {"start": local_start(4).isoformat()}, follow_redirects=True)
    assert "Ce créneau n&#39;est plus disponible" in html(response)
    assert reload(Appointment, appointment.id).start_at == local_start(3, 15)
    assert taken.id


def test_strangers_get_404_on_an_appointment_page(client, log_in):
    practitioner, reason = open_practice()
    appointment = make_appointment(practitioner, factories.make_patient(), local_start(3), reason=reason)
    log_in(factories.make_patient().account)
    assert client.get(f"/appointments/{appointment.id}").status_code == 404
    assert client.get(f"/appointments/{appointment.id}.ics").status_code == 404


# --- Agenda, desk ------------------------------------------------------------------------------

def test_agenda_day_and_week_views_show_patients_reasons_statuses(client, log_in):
    practitioner, reason = open_practice()
    patient = factories.make_patient(last_name="Lambert")
    today = make_appointment(practitioner, patient, local_start(0, 23, 30), reason=reason)
    later = make_appointment(practitioner, factories.make_patient(last_name="Girard"), local_start(2), reason=reason,
                             status=AppointmentStatus.CANCELLED)
    log_in(practitioner.user)
    page = html(client.get("/agenda"))
    assert "aujourd'hui" in page and "Lambert" in page and "Réservé" in page and "Consultation" in page
    week = html(client.get(f"/agenda?view=week&day={local_start(2).date().isoformat()}"))
    assert "Girard" in week and "Annulé" in week
    assert today.id and later.id


def test_clinic_staff_see_their_practitioners_agendas_only(client, log_in):
    clinic = factories.make_clinic()
    practitioner, reason = open_practice(factories.make_practitioner(clinic=clinic, last_name="Martin"))
    outsider, outsider_reason = open_practice(factories.make_practitioner(last_name="Ailleurs"))
    make_appointment(practitioner, factories.make_patient(last_name="Benali"), local_start(0, 23, 30), reason=reason)
    outsider_appointment = make_appointment(outsider, factories.make_patient(last_name="Secret"),
                                            local_start(0, 23, 30), reason=outsider_reason)
    log_in(factories.make_staff(clinic=clinic))
    page = html(client.get(f"/agenda?practitioner={outsider.id}"))
    assert "Martin" in page and "Benali" in page and "Secret" not in page
    assert client.get(f"/agenda/appointments/{outsider_appointment.id}").status_code == 404


def test_patients_have_no_agenda(client, log_in):
    log_in(factories.make_patient().account)
    assert client.get("/agenda").status_code == 403
    assert client.get("/agenda/book").status_code == 403
    assert client.get("/settings/booking").status_code == 403


def test_practitioner_marks_and_cancels_from_the_appointment_page(client, log_in, form_post):
    practitioner, reason = open_practice()
    past = make_appointment(practitioner, factories.make_patient(), local_start(-1), reason=reason)
    future = make_appointment(practitioner, factories.make_patient(), local_start(2), reason=reason)
    log_in(practitioner.user)
    page = html(client.get(f"/agenda/appointments/{past.id}"))
    assert 'class="appointment-side"' in page and "Marquer comme non honoré" in page
    form_post(f"/agenda/appointments/{past.id}/no-show", {}, page=f"/agenda/appointments/{past.id}")
    assert reload(Appointment, past.id).status is AppointmentStatus.NO_SHOW
    refused = form_post(f"/agenda/appointments/{future.id}/cancel", {"reason": ""},
                        page=f"/agenda/appointments/{future.id}", follow_redirects=True)
    assert "motif de l&#39;annulation" in html(refused)
    form_post(f"/agenda/appointments/{future.id}/cancel", {"reason": "Formation"},
              page=f"/agenda/appointments/{future.id}")
    assert reload(Appointment, future.id).cancel_reason == "Formation"


def test_desk_creates_a_patient_and_books_a_slot(client, log_in, form_post):
    clinic = factories.make_clinic()
    practitioner, reason = open_practice(factories.make_practitioner(clinic=clinic), min_notice_minutes=24 * 60)
    log_in(factories.make_staff(clinic=clinic))
    response = form_post("/agenda/patients/new", {"first_name": "Louise", "last_name": "Moreau",
                                                  "birth_date": "1950-02-03", "phone": "0612345678"})
    assert response.status_code == 302
    patient_id = int(re.search(r"patient=(\d+)", response.headers["Location"]).group(1))
    day = local_start(1).date().isoformat()
    page = html(client.get(f"/agenda/book?practitioner={practitioner.id}&patient={patient_id}&reason={reason.id}"
                           f"&day={day}"))
    assert "Louise Moreau" in page and 'value="' + local_start(1, 10).astimezone(dt.UTC).isoformat() + '"' in page
    assert html(client.get(f"/agenda/book?practitioner={practitioner.id}&q=moreau")).count("Louise Moreau") == 1
    start = local_start(1, 10)  # less than the online notice away: the desk may book it
    response = form_post(f"/agenda/book?practitioner={practitioner.id}",
                         {"patient_id": patient_id, "visit_reason_id": reason.id, "start": start.isoformat()})
    assert response.status_code == 302
    appointment = db.session.query(Appointment).one()
    assert appointment.booked_at_desk and appointment.patient_id == patient_id and appointment.start_at == start


def test_desk_booking_of_a_taken_slot_goes_back_to_the_slots_with_a_message(client, log_in, form_post):
    practitioner, reason = open_practice()
    patient = factories.make_patient()
    make_appointment(practitioner, factories.make_patient(), local_start(2), reason=reason)
    log_in(practitioner.user)
    found = client.get(f"/agenda/book?q={patient.first_name}+{patient.last_name}&born={patient.birth_date}")
    assert f"patient={patient.id}" in html(found)
    response = form_post("/agenda/book", {"patient_id": patient.id, "visit_reason_id": reason.id,
                                          "start": local_start(2).isoformat()})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert f"patient={patient.id}" in location and f"day={local_start(2).date()}" in location
    assert "Ce créneau n&#39;est plus disponible" in html(client.get(location))


def test_search_boxes_ignore_a_nul_character(client, log_in):
    practitioner, _ = open_practice()
    assert practitioner.last_name in html(client.get(f"/search?q={practitioner.last_name[:3]}%00&place=%00"))
    log_in(practitioner.user)
    assert client.get("/agenda/book?q=Mar%00tin").status_code == 200


def test_the_desk_reaches_a_patient_it_never_saw_only_by_identity(client, log_in, form_post):
    practitioner, reason = open_practice()
    stranger = factories.make_patient(first_name="Hélène", last_name="Le Gall")
    log_in(practitioner.user)
    assert f"patient={stranger.id}" not in html(client.get("/agenda/book?q=le+gall"))
    assert client.get(f"/agenda/book?patient={stranger.id}").status_code == 404
    booking = {"patient_id": stranger.id, "visit_reason_id": reason.id, "start": local_start(2).isoformat()}
    refused = form_post("/agenda/book", booking, follow_redirects=True)
    assert "Patient introuvable" in html(refused) and not db.session.query(Appointment).count()
    wrong_day = stranger.birth_date.replace(day=1)
    assert f"patient={stranger.id}" not in html(client.get(f"/agenda/book?q=Hélène+Le+Gall&born={wrong_day}"))
    found = html(client.get(f"/agenda/book?q=helene+le+gall&born={stranger.birth_date}"))
    assert f"patient={stranger.id}" in found
    assert "Hélène Le Gall" in html(client.get(f"/agenda/book?patient={stranger.id}&reason={reason.id}"))
    assert form_post("/agenda/book", booking).status_code == 302
    assert db.session.query(Appointment).one().patient_id == stranger.id


def test_desk_patient_form_shows_errors_next_to_fields(client, log_in, form_post):
    log_in(factories.make_practitioner().user)
    page = html(form_post("/agenda/patients/new", {"first_name": "Louise", "last_name": "Moreau",
                                                   "birth_date": "1950-02-03"}))
    assert "Indiquez une adresse e-mail ou un numéro de téléphone" in page


# --- Settings ---------------------------------------------------------------------------------------

def test_visit_reasons_pages_create_edit_archive(client, log_in, form_post):
    practitioner = log_in(factories.make_practitioner().user).practitioner_profile
    response = form_post("/settings/visit-reasons", {"label": "Première consultation", "duration_minutes": "45",
                                                     "price_euros": "50,00", "new_patients": "y", "mode": "in_person"})
    assert response.status_code == 302
    reason = db.session.query(VisitReason).one()
    assert (reason.duration_minutes, reason.price_cents, reason.new_patients, reason.returning_patients) == (
        45, 5000, True, False)
    bad = html(form_post("/settings/visit-reasons", {"label": "X", "duration_minutes": "-5", "price_euros": "-3",
                                                     "mode": "in_person", "new_patients": "y"}))
    assert "Écrivez un tarif" in bad or "field-error" in bad
    form_post(f"/settings/visit-reasons/{reason.id}", {"label": "Bilan", "duration_minutes": "60",
                                                        "price_euros": "60", "new_patients": "y",
                                                        "returning_patients": "y", "mode": "video"})
    reason = reload(VisitReason, reason.id)
    assert (reason.label, reason.duration_minutes, reason.mode.value) == ("Bilan", 60, "video")
    form_post(f"/settings/visit-reasons/{reason.id}/archive", {}, page="/settings/visit-reasons")
    reason = reload(VisitReason, reason.id)
    assert reason.is_archived and practitioner.id == reason.practitioner_id


# The opening hours page: tests/booking/test_agenda_grid_settings.py.


def test_rules_page_saves_and_keeps_hours(client, log_in, form_post):
    practitioner = log_in(factories.make_practitioner().user).practitioner_profile
    form_post("/settings/hours", {"h-1-0-start": "08:00", "h-1-0-end": "12:00"})
    response = form_post("/settings/rules", {"timezone": "America/Martinique", "min_notice_minutes": "60",
                                             "horizon_days": "30", "buffer_minutes": "10",
                                             "cancellation_deadline_hours": "48", "slot_step_minutes": ""})
    assert response.status_code == 302
    schedule = reload(PractitionerSchedule, practitioner.id)
    assert (schedule.timezone, schedule.buffer_minutes, schedule.closed_on_public_holidays) == (
        "America/Martinique", 10, False)
    assert db.session.query(WeeklyHours).count() == 1
    bad = form_post("/settings/rules", {"timezone": "Europe/Paris", "min_notice_minutes": "-1", "horizon_days": "0",
                                        "buffer_minutes": "10", "cancellation_deadline_hours": "48"})
    assert bad.status_code == 200 and "field-error" in html(bad)


def test_absences_page_adds_whole_days_and_removes(client, log_in, form_post):
    log_in(factories.make_practitioner().user)
    first = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    last = (dt.date.today() + dt.timedelta(days=12)).isoformat()
    assert form_post("/settings/absences",
                     {"start_date": first, "end_date": last, "reason": "Congés"}).status_code == 302
    absence = db.session.query(Absence).one()
    assert absence.end_at - absence.start_at == dt.timedelta(days=3)
    page = html(form_post("/settings/absences", {"start_date": last, "end_date": first}))
    assert "La fin doit suivre le début" in page
    form_post(f"/settings/absences/{absence.id}/delete", {}, page="/settings/absences")
    assert db.session.query(Absence).count() == 0


def test_settings_page_creates_the_calendar_feed(client, log_in, form_post):
    log_in(factories.make_practitioner().user)
    page = html(form_post("/settings/calendar-feed", {}, page="/settings/booking"))
    url = re.search(r'id="feed-url">([^<]+)<', page).group(1)
    assert client.get(url.removeprefix("http://carnet.test")).status_code == 200


@pytest.mark.parametrize("url", ["/settings/booking", "/settings/visit-reasons", "/settings/hours", "/settings/rules",
                                 "/settings/absences", "/agenda", "/agenda/book", "/agenda/patients/new"])
def test_practitioner_pages_render_in_english_too(client, log_in, url):
    log_in(factories.make_practitioner(user_overrides={"locale": "en"}).user)
    response = client.get(url)
    assert response.status_code == 200 and 'lang="en"' in html(response)
