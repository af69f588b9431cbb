"""iCalendar: the appointment file and the practitioner's secret feed parse back with `icalendar`."""

import datetime as dt
import re
from urllib.parse import urlsplit

import icalendar
import pytest

from tests import factories
from tests.audit.factories import recorded_events
from tests.booking.factories import local_start, make_appointment, open_practice
from webapp.accounts.password_changes import change_password, revoke_all_access
from webapp.booking.calendar_feed import has_calendar_feed, rotate_calendar_feed
from webapp.booking.ics import feed_url
from webapp.transaction import transaction


def parse(response) -> icalendar.Calendar:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    return icalendar.Calendar.from_ical(response.data)


def events(calendar: icalendar.Calendar) -> list:
    return list(calendar.walk("VEVENT"))


def test_appointment_ics_round_trip_with_address_reason_and_cancel_link(client, api_token):
    practitioner, reason = open_practice(reason_overrides={"shown_in_messages": True})
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(3), reason=reason)
    headers = api_token(patient.account)
    calendar = parse(client.get(f"/api/v1/appointments/{appointment.id}/ics", headers=headers))
    [event] = events(calendar)
    assert str(event["uid"]) == f"appointment-{appointment.id}@carnet.test"
    assert event.decoded("dtstart") == local_start(3)
    assert event.decoded("dtend") == local_start(3) + dt.timedelta(minutes=30)
    assert practitioner.address in str(event["location"]) and practitioner.city in str(event["location"])
    description = str(event["description"])
    assert reason.label in description
    assert f"http://carnet.test/appointments/{appointment.id}" in description
    assert str(event["status"]) == "CONFIRMED"


def test_uid_is_stable_across_reschedule_and_cancellation(client, api_token):
    practitioner, reason = open_practice()
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(3), reason=reason)
    headers = api_token(patient.account)
    url = f"/api/v1/appointments/{appointment.id}/ics"
    [before] = events(parse(client.get(url, headers=headers)))
    client.post(f"/api/v1/appointments/{appointment.id}/reschedule", headers=headers,
                json={"start": local_start(4).isoformat()})
    [moved] = events(parse(client.get(url, headers=headers)))
    client.post(f"/api/v1/appointments/{appointment.id}/cancel", headers=headers, json={})
    [cancelled] = events(parse(client.get(url, headers=headers)))
    assert str(before["uid"]) == str(moved["uid"]) == str(cancelled["uid"])
    assert moved.decoded("dtstart") == local_start(4)
    assert (before["sequence"], moved["sequence"], cancelled["sequence"]) == (0, 1, 2)
    assert str(cancelled["status"]) == "CANCELLED"


def test_downloads_and_the_feed_are_published_without_organizer_or_attendee(client, api_token, log_in):
    practitioner, reason = open_practice()
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(3), reason=reason)
    api = parse(client.get(f"/api/v1/appointments/{appointment.id}/ics", headers=api_token(patient.account)))
    feed_path = client.post("/api/v1/practitioners/me/calendar-feed",
                            headers=api_token(practitioner.user)).json["url"].removeprefix("http://carnet.test")
    feed = parse(client.get(feed_path))
    log_in(patient.account)
    page = parse(client.get(f"/appointments/{appointment.id}.ics"))
    for calendar in (api, page, feed):
        assert str(calendar["method"]) == "PUBLISH"
        [event] = events(calendar)
        assert "organizer" not in event and "attendee" not in event


def test_patient_page_downloads_the_ics(client, log_in):
    practitioner, reason = open_practice()
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(3), reason=reason)
    log_in(patient.account)
    response = client.get(f"/appointments/{appointment.id}.ics")
    assert "attachment" in response.headers["Content-Disposition"]
    assert len(events(parse(response))) == 1


def test_calendar_feed_is_secret_rotatable_and_parses_back(client, api_token):
    practitioner, reason = open_practice()
    first_patient, second_patient = factories.make_patient(), factories.make_patient()
    make_appointment(practitioner, first_patient, local_start(2), reason=reason)
    make_appointment(practitioner, second_patient, local_start(5), reason=reason)
    make_appointment(open_practice()[0], first_patient, local_start(2))
    headers = api_token(practitioner.user)
    url = client.post("/api/v1/practitioners/me/calendar-feed", headers=headers).json["url"]
    assert url.startswith("http://carnet.test/calendar/") and url.endswith(".ics")
    path = url.removeprefix("http://carnet.test")
    feed = parse(client.get(path))
    summaries = sorted(str(event["summary"]) for event in events(feed))
    assert summaries == sorted(f"{p.first_name[0]}. {p.last_name[0]}. · Rendez-vous"
                               for p in (first_patient, second_patient))
    assert len({str(event["uid"]) for event in events(feed)}) == 2
    rotated = client.post("/api/v1/practitioners/me/calendar-feed", headers=headers).json["url"]
    assert rotated != url
    assert client.get(path).status_code == 404
    assert len(events(parse(client.get(rotated.removeprefix("http://carnet.test"))))) == 2
    assert client.get("/calendar/not-a-token.ics").status_code == 404


FEED_URL = re.compile(r'id="feed-url">http://carnet\.test([^<]+)<')


def test_a_password_change_revokes_the_calendar_feed_until_a_new_one_is_made(client, log_in, form_post):
    practitioner = factories.make_practitioner()
    log_in(practitioner.user)
    old_path = FEED_URL.search(form_post("/settings/calendar-feed", {}, page="/settings/booking")
                               .get_data(as_text=True)).group(1)
    assert client.get(old_path).status_code == 200
    changed = form_post("/account/password", {"current_password": factories.PASSWORD,
                                              "password": "un-nouveau-2026", "confirm": "un-nouveau-2026"})
    assert changed.status_code == 302
    assert client.get(old_path).status_code == 404
    assert "Créer l'adresse" in client.get("/settings/booking").get_data(as_text=True)
    new_path = FEED_URL.search(form_post("/settings/calendar-feed", {}, page="/settings/booking")
                               .get_data(as_text=True)).group(1)
    assert new_path != old_path
    assert client.get(new_path).status_code == 200 and client.get(old_path).status_code == 404
    [revoked] = recorded_events("calendar_feed.revoked")
    assert revoked.details == {"reason": "password_changed"}


@pytest.mark.parametrize("revoke", [
    lambda user: change_password(user, "un-nouveau-2026", method="reset_link"),
    lambda user: revoke_all_access(user, reason="account_closed"),
], ids=["password_reset", "account_closed"])
def test_every_revocation_of_access_revokes_the_calendar_feed(client, revoke):
    practitioner = factories.make_practitioner()
    with transaction():
        token = rotate_calendar_feed(practitioner.user)
    path = urlsplit(feed_url(token)).path
    assert client.get(path).status_code == 200
    with transaction():
        revoke(practitioner.user)
    assert client.get(path).status_code == 404
    assert has_calendar_feed(practitioner.id) is False


def test_revoking_access_of_an_account_without_a_feed_changes_nothing_in_booking():
    patient = factories.make_patient().account
    with transaction():
        revoke_all_access(patient, reason="password_changed")
    assert recorded_events("calendar_feed.revoked") == []
