"""The visitor's journey through the pages: one search box, slots in the results,
the first free week, a held slot, and the confirmation with inline log-in or sign-up."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import local_start, make_appointment, make_visit_reason, open_practice
from tests.conftest import csrf_token_of
from webapp.accounts.models import User
from webapp.booking.models import Absence, Appointment, SlotHold
from webapp.extensions import db

SLOT_BUTTON = re.compile(r'<button type="submit" class="slot" name="start" value="([^"]+)"')


def html(response) -> str:
    return response.get_data(as_text=True)


def slot_starts(page: str) -> list[str]:
    return SLOT_BUTTON.findall(page)


@pytest.fixture
def dermatologist():
    practitioner, reason = open_practice(factories.make_practitioner(
        first_name="Jean", last_name="Lefèvre", specialty="dermatologist", city="Lyon", postcode="69003"))
    return practitioner, reason


def hold_first_result_slot(client, text="dermato lyon"):
    """Search, then click the first slot button of the first result (a form post)."""
    page = html(client.get(f"/search?q={text}"))
    start = slot_starts(page)[0]
    action = re.search(r'<form method="post" action="(/book/\d+/hold)"', page).group(1)
    reason = re.search(r'name="reason" value="(\d+)"', page).group(1)
    response = client.post(action, data={"csrf_token": csrf_token_of(page), "reason": reason, "start": start})
    assert response.status_code == 302, html(response)
    return response.headers["Location"], start


def signup_data(page: str, **overrides) -> dict:
    data = {"signup-csrf_token": csrf_token_of(page), "signup-first_name": "Léa", "signup-last_name": "Martin",
            "signup-birth_date": "1990-04-12", "signup-email": "lea.martin@example.com",
            "signup-phone": "06 12 34 56 78", "signup-password": factories.PASSWORD}
    return data | overrides


def test_home_and_search_pages_have_one_search_box_with_suggestions(client):
    for url in ("/", "/search"):
        page = html(client.get(url))
        assert page.count('type="search"') == 1 and 'id="specialty"' not in page and 'id="place"' not in page
        assert 'list="search-terms"' in page and '<option value="dermato">' in page
        assert "/static/js/search-suggest.js" in page and "<script>" not in page


def test_suggestions_complete_specialties_names_and_cities(client, dermatologist):
    response = client.get("/search/suggestions?q=derm")
    assert response.status_code == 200 and "dermato" in response.json["items"]
    assert client.get("/search/suggestions?q=lef").json["items"] == ["Jean Lefèvre"]
    assert "dermato Lyon" in client.get("/search/suggestions?q=dermato+ly").json["items"]
    assert client.get("/search/suggestions?q=d").json["items"] == []
    assert client.get("/search/suggestions?q=%00%25").status_code == 200


def test_results_show_the_next_free_slots_as_buttons(client, dermatologist, frozen_clock):
    practitioner, reason = dermatologist
    make_appointment(practitioner, factories.make_patient(), local_start(1, 8), reason=reason)
    factories.make_practitioner(specialty="dermatologist", city="Brest", postcode="29200")
    page = html(client.get("/search?q=Dermato+%C3%A0+Lyon"))
    assert "Lefèvre" in page and "Brest" not in page
    starts = [dt.datetime.fromisoformat(start) for start in slot_starts(page)]
    assert len(starts) == 4 and starts == sorted(starts) and local_start(1, 8) not in starts
    assert f'action="/book/{practitioner.id}/hold"' in page and f'name="reason" value="{reason.id}"' in page


def test_results_cost_the_same_queries_for_2_or_12_practitioners(client, count_queries):
    for city, count in (("Lyon", 2), ("Nantes", 12)):
        for _ in range(count):
            practitioner, _ = open_practice(factories.make_practitioner(city=city, specialty="dermatologist"))
            make_visit_reason(practitioner, label="Suivi", duration_minutes=15)
    counts = []
    for city in ("lyon", "nantes"):
        with count_queries() as statements:
            assert client.get(f"/search?q=dermato+{city}").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 12


def test_practitioner_page_opens_on_the_first_week_with_free_slots(client, dermatologist, frozen_clock):
    practitioner, reason = dermatologist
    db.session.add(Absence(practitioner_id=practitioner.id, start_at=local_start(-1, 0),
                           end_at=local_start(20, 0)))
    db.session.commit()
    page = html(client.get(f"/practitioners/{practitioner.id}"))
    starts = [dt.datetime.fromisoformat(start) for start in slot_starts(page)]
    assert starts and min(starts) >= local_start(20, 0)
    first_day = local_start(20, 0).date()
    monday = first_day - dt.timedelta(days=first_day.weekday())
    assert f"week={monday.isoformat()}" in page  # the "more slots" link keeps that week


def test_practitioner_page_preselects_the_single_or_most_booked_reason(client, dermatologist):
    practitioner, first = dermatologist
    page = html(client.get(f"/practitioners/{practitioner.id}"))
    assert f'name="reason" value="{first.id}"' in page
    popular = make_visit_reason(practitioner, label="Grain de beauté")
    make_visit_reason(practitioner, label="Suivi", new_patients=False)
    for day in (1, 2):
        make_appointment(practitioner, factories.make_patient(), local_start(-day, 10), reason=popular)
    page = html(client.get(f"/practitioners/{practitioner.id}"))
    assert f'name="reason" value="{popular.id}"' in page
    page = html(client.get(f"/practitioners/{practitioner.id}?reason={first.id}"))
    assert f'name="reason" value="{first.id}"' in page


def test_practitioner_page_has_a_compact_list_and_the_week_on_demand(client, dermatologist):
    practitioner, _ = dermatologist
    page = html(client.get(f"/practitioners/{practitioner.id}"))
    compact = page[page.index('class="slot-compact'):page.index('class="slot-week-block')]
    assert len(slot_starts(compact)) == 6 and "view=week" in compact
    assert 'class="slot-week-block on-demand"' in page
    week_page = html(client.get(f"/practitioners/{practitioner.id}?view=week"))
    assert 'class="slot-week-block"' in week_page and "slot-compact hidden-for-week" in week_page


def test_a_clicked_slot_is_held_and_no_longer_offered_to_others(app, client, dermatologist, frozen_clock):
    location, start = hold_first_result_slot(client)
    hold = db.session.scalar(sa.select(SlotHold))
    assert location.endswith(f"/book/hold/{hold.id}") and hold.start_at == dt.datetime.fromisoformat(start)
    page = html(client.get(location))
    assert "Ce créneau vous est réservé jusqu" in page
    assert 'name="signup-first_name"' in page and 'name="login-email"' in page
    assert "Please log in" not in page
    other = app.test_client()
    assert start not in slot_starts(html(other.get("/search?q=dermato+lyon")))
    # Another visitor cannot open or book this hold.
    assert other.get(location).status_code == 302


def test_signup_errors_all_come_at_once_and_keep_what_was_typed_but_the_password(client, dermatologist):
    factories.make_patient(user_overrides={"email": "taken@example.com"})
    location, _ = hold_first_result_slot(client)
    page = html(client.get(location))
    response = client.post(f"{location}/signup", data=signup_data(
        page, **{"signup-first_name": "", "signup-birth_date": "2999-01-01", "signup-email": "taken@example.com",
                 "signup-phone": "12", "signup-password": "short", "signup-last_name": "Martin-Dupré"}))
    assert response.status_code == 422
    page = html(response)
    errors = dict(re.findall(r'<p class="field-error" id="signup-(\w+)-error">([^<]+)</p>', page))
    assert set(errors) == {"first_name", "birth_date", "email", "phone", "password"}
    assert 'value="Martin-Dupré"' in page and 'value="taken@example.com"' in page and 'value="12"' in page
    assert "short" not in re.findall(r'<input[^>]+name="signup-password"[^>]*>', page)[0]
    assert "saisissez-le de nouveau" in page
    assert db.session.scalar(sa.select(sa.func.count(Appointment.id))) == 0


def test_signup_in_the_confirmation_creates_the_account_and_books(client, dermatologist, frozen_clock):
    location, start = hold_first_result_slot(client)
    response = client.post(f"{location}/signup", data=signup_data(html(client.get(location))))
    assert response.status_code == 302 and re.search(r"/appointments/\d+$", response.headers["Location"])
    user = db.session.scalar(sa.select(User).where(User.email == "lea.martin@example.com"))
    appointment = db.session.scalar(sa.select(Appointment))
    assert appointment.patient_id == user.patient_profile.id and appointment.start_at.isoformat() == \
        dt.datetime.fromisoformat(start).astimezone(dt.UTC).isoformat()
    assert user.patient_profile.phone == "+33612345678"
    assert db.session.scalar(sa.select(sa.func.count(SlotHold.id))) == 0
    assert client.get(response.headers["Location"]).status_code == 200  # logged in, sees the appointment


def test_login_in_the_confirmation_books_in_the_same_submission(client, dermatologist):
    patient = factories.make_patient()
    location, _ = hold_first_result_slot(client)
    page = html(client.get(location))
    wrong = client.post(f"{location}/login", data={"login-csrf_token": csrf_token_of(page),
                                                   "login-email": patient.account.email, "login-password": "nope"})
    assert wrong.status_code == 422 and 'value="' + patient.account.email + '"' in html(wrong)
    response = client.post(f"{location}/login", data={"login-csrf_token": csrf_token_of(html(wrong)),
                                                      "login-email": patient.account.email,
                                                      "login-password": factories.PASSWORD})
    assert response.status_code == 302 and "/appointments/" in response.headers["Location"]
    assert db.session.scalar(sa.select(Appointment.patient_id)) == patient.id


def test_a_logged_in_patient_confirms_a_held_slot(client, log_in, dermatologist):
    patient = factories.make_patient()
    log_in(patient.account)
    location, _ = hold_first_result_slot(client)
    page = html(client.get(location))
    assert 'name="signup-first_name"' not in page
    response = client.post(location, data={"csrf_token": csrf_token_of(page), "patient_id": patient.id,
                                           "message": "Merci"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Appointment.message)) == "Merci"


def test_confirmation_warns_before_booking_into_the_no_cancellation_window(client, frozen_clock):
    practitioner, _ = open_practice(factories.make_practitioner(specialty="dermatologist", city="Lyon"),
                                    hours=("00:00", "23:55"), cancellation_deadline_hours=48)
    location, _ = hold_first_result_slot(client)
    assert "can no longer be cancelled" in html(client.get(location, headers={"Accept-Language": "en"}))
    db.session.query(SlotHold).delete()
    db.session.commit()
    # Far enough ahead: no warning.
    page = html(client.get(f"/practitioners/{practitioner.id}?view=week&week={local_start(14).date()}"))
    start = slot_starts(page)[-1]
    response = client.post(f"/book/{practitioner.id}/hold", data={
        "csrf_token": csrf_token_of(page), "reason": re.search(r'name="reason" value="(\d+)"', page).group(1),
        "start": start})
    assert "can no longer be cancelled" not in html(client.get(response.headers["Location"],
                                                               headers={"Accept-Language": "en"}))


def test_professionals_do_not_hold_slots(client, log_in, dermatologist):
    practitioner, reason = dermatologist
    page = html(client.get("/search?q=dermato"))
    log_in(factories.make_practitioner().user)
    response = client.post(f"/book/{practitioner.id}/hold", data={
        "csrf_token": csrf_token_of(html(client.get("/search"))), "reason": reason.id,
        "start": slot_starts(page)[0]})
    assert response.status_code == 403


def test_a_taken_slot_sends_the_visitor_back_with_a_clear_message(app, client, dermatologist):
    practitioner, reason = dermatologist
    page = html(client.get("/search?q=dermato"))
    start = slot_starts(page)[0]
    make_appointment(practitioner, factories.make_patient(), dt.datetime.fromisoformat(start), reason=reason)
    response = client.post(f"/book/{practitioner.id}/hold", data={
        "csrf_token": csrf_token_of(page), "reason": reason.id, "start": start}, follow_redirects=True)
    assert "no longer available" in html(response) or "plus disponible" in html(response)
    bad = client.post(f"/book/{practitioner.id}/hold", data={"csrf_token": csrf_token_of(page), "reason": "x",
                                                             "start": "tomorrow"})
    assert bad.status_code == 302


def test_account_rules_are_checked_with_the_form_so_errors_still_come_in_one_round(client, dermatologist):
    """Well-formed fields the account rules refuse (a weak password, a used email) come together."""
    factories.make_patient(user_overrides={"email": "taken@example.com"})
    location, _ = hold_first_result_slot(client)
    response = client.post(f"{location}/signup", data=signup_data(
        html(client.get(location)), **{"signup-email": "Taken@example.com", "signup-password": "aaaaaaaaaaaa"}))
    assert response.status_code == 422
    errors = dict(re.findall(r'<p class="field-error" id="signup-(\w+)-error">([^<]+)</p>', html(response)))
    assert set(errors) == {"email", "password"}
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "lea.martin@example.com")) == 0
