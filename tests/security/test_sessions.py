"""Session lifetime and idle timeout per role, and the end of older sessions."""

import datetime as dt

import pytest

from tests import factories
from tests.audit.factories import log_in, recorded_events
from tests.conftest import csrf_token_of

MINUTE, HOUR = 60, 3600
# Accounts whose password was set long ago, so that moving a session's
# login back in time does not place it before the last password change.
LONG_AGO = {"password_changed_at": dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)}


def age_session(client, *, since_login: float = 0, since_seen: float = 0) -> None:
    """Move the session's login and last activity back in time (seconds)."""
    with client.session_transaction() as session:
        session["auth_at"] -= since_login
        session["seen_at"] -= since_seen


def assert_sent_to_login(response, reason: str) -> None:
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    [event] = recorded_events("session.expired")
    assert event.details == {"reason": reason}


@pytest.fixture
def practitioner():
    return factories.make_practitioner(user_overrides=LONG_AGO).user


@pytest.fixture
def patient():
    return factories.make_patient(user_overrides=LONG_AGO).account


def test_practitioner_session_ends_after_30_idle_minutes(client, form_post, practitioner):
    log_in(form_post, practitioner)
    age_session(client, since_login=31 * MINUTE, since_seen=31 * MINUTE)
    response = client.get("/account?tab=security")
    assert_sent_to_login(response, "idle")
    assert response.headers["Location"] == "/login?next=/account?tab%3Dsecurity"
    page = client.get("/login").get_data(as_text=True)
    assert "Votre session a expiré" in page


def test_activity_keeps_a_practitioner_session_alive(client, form_post, practitioner):
    log_in(form_post, practitioner)
    for _ in range(3):
        age_session(client, since_login=25 * MINUTE, since_seen=25 * MINUTE)
        assert client.get("/account").status_code == 200
    assert recorded_events("session.expired") == []


def test_practitioner_session_ends_after_12_hours_even_when_active(client, form_post, practitioner):
    log_in(form_post, practitioner)
    age_session(client, since_login=12 * HOUR + MINUTE)
    assert_sent_to_login(client.get("/account"), "lifetime")
    assert client.get("/account").status_code == 302  # logged out for good


@pytest.mark.parametrize("make_user", [lambda: factories.make_staff(**LONG_AGO),
                                       lambda: factories.make_staff(role=factories.Role.ADMIN, **LONG_AGO)],
                         ids=["staff", "admin"])
def test_staff_and_admin_sessions_have_the_short_limits(client, form_post, make_user):
    log_in(form_post, make_user())
    age_session(client, since_login=31 * MINUTE, since_seen=31 * MINUTE)
    assert_sent_to_login(client.get("/account"), "idle")


def test_patient_session_lasts_longer(client, form_post, patient):
    log_in(form_post, patient)
    age_session(client, since_login=13 * HOUR, since_seen=2 * HOUR)
    assert client.get("/account").status_code == 200
    age_session(client, since_login=0, since_seen=25 * HOUR)
    assert_sent_to_login(client.get("/account"), "idle")


def test_patient_session_ends_after_its_lifetime(client, form_post, patient):
    log_in(form_post, patient)
    age_session(client, since_login=7 * 24 * HOUR + MINUTE)
    assert_sent_to_login(client.get("/account"), "lifetime")


def test_session_without_a_start_time_is_ended(client, form_post, patient):
    log_in(form_post, patient)
    with client.session_transaction() as session:
        del session["auth_at"]
    assert_sent_to_login(client.get("/account"), "unknown_start")


def test_post_on_an_expired_session_is_not_replayed_after_login(client, form_post, patient):
    log_in(form_post, patient)
    html = client.get("/account").get_data(as_text=True)
    age_session(client, since_login=8 * 24 * HOUR)
    response = client.post("/logout", data={"csrf_token": csrf_token_of(html)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_password_change_ends_the_other_sessions_only(app, client, form_post, patient):
    log_in(form_post, patient)
    other_device = app.test_client()
    with other_device.session_transaction() as other, client.session_transaction() as mine:
        other.update(mine)  # the same account logged in on a second device
    form_post("/account/password", {"current_password": factories.PASSWORD, "password": "un-nouveau-2026",
                                    "confirm": "un-nouveau-2026"})
    assert client.get("/account").status_code == 200
    assert_sent_to_login(other_device.get("/account"), "password_changed")


def test_api_requests_ignore_browser_session_limits(client, api_token, patient):
    headers = api_token(patient)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert recorded_events("session.expired") == []
