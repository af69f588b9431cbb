"""Session lifetime and idle timeout per role, and the end of sessions by logout,
a password change or the closure of the account (server-side records)."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import log_in, recorded_events
from tests.conftest import csrf_token_of
from tests.privacy.factories import make_household
from webapp.accounts import session_records
from webapp.accounts.models import BrowserSession
from webapp.accounts.password_changes import password_reset_token, reset_password
from webapp.extensions import db
from webapp.transaction import transaction

MINUTE, HOUR = 60, 3600
# Accounts whose password was set long ago, so that moving a session's
# login back in time does not place it before the last password change.
LONG_AGO = {"password_changed_at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC)}


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


# --- Server-side session records: logout, password change and closure end them ---------------

def copy_session(app, client):
    """A second client holding a copy of `client`'s session cookie."""
    copy = app.test_client()
    with copy.session_transaction() as theirs, client.session_transaction() as mine:
        theirs.update(mine)
    return copy


def log_in_elsewhere(app, user):
    """The same account logged in on another device, through the login page."""
    device = app.test_client()
    html = device.get("/login").get_data(as_text=True)
    response = device.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                           "csrf_token": csrf_token_of(html)})
    assert response.status_code == 302
    return device


def log_out(client):
    html = client.get("/account").get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": csrf_token_of(html)}).status_code == 302


def live_records(user) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(BrowserSession)
                             .where(BrowserSession.user_id == user.id, BrowserSession.ended_at.is_(None)))


@pytest.mark.parametrize("path", ["/account", "/account/privacy", "/account/password"])
def test_a_cookie_copied_before_logout_opens_no_page_after_it(app, client, form_post, patient, path):
    log_in(form_post, patient)
    stolen = copy_session(app, client)
    assert stolen.get(path).status_code == 200  # the copy works while the session lives
    log_out(client)
    assert_sent_to_login(stolen.get(path), "ended")
    assert stolen.get("/account").status_code == 302  # and the copy is logged out for good
    assert live_records(patient) == 0


def test_a_copied_cookie_cannot_post_after_logout(app, client, form_post, patient):
    log_in(form_post, patient)
    stolen = copy_session(app, client)
    html = stolen.get("/account/password").get_data(as_text=True)
    log_out(client)
    response = stolen.post("/account/password", data={
        "csrf_token": csrf_token_of(html), "current_password": factories.PASSWORD,
        "password": "un-nouveau-2026", "confirm": "un-nouveau-2026"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    [expired] = recorded_events("session.expired")
    assert expired.details == {"reason": "ended"}
    assert recorded_events("password.changed") == []


def test_logout_leaves_the_other_devices_logged_in(app, client, form_post, patient):
    phone = log_in_elsewhere(app, patient)
    log_in(form_post, patient)
    assert live_records(patient) == 2
    log_out(client)
    assert client.get("/account").status_code == 302
    assert phone.get("/account").status_code == 200
    assert live_records(patient) == 1
    [logout] = recorded_events("session.logout")
    assert logout.target_id == str(patient.id)


def test_a_session_without_a_record_is_ended(client, form_post, patient):
    """A cookie from before server-side records, or one whose record was pruned."""
    log_in(form_post, patient)
    with client.session_transaction() as session:
        del session["sid"]
    assert_sent_to_login(client.get("/account"), "ended")


def test_a_record_of_another_account_opens_nothing(client, form_post, patient):
    log_in(form_post, patient)
    with client.session_transaction() as session:
        sid = session["sid"]
    other = factories.make_patient(user_overrides=LONG_AGO).account
    db.session.get(BrowserSession, session_records.session_digest(sid)).user_id = other.id
    db.session.commit()
    assert_sent_to_login(client.get("/account"), "ended")


def test_password_change_ends_the_other_devices_and_keeps_this_one(app, client, form_post, patient):
    phone = log_in_elsewhere(app, patient)
    log_in(form_post, patient)
    form_post("/account/password", {"current_password": factories.PASSWORD, "password": "un-nouveau-2026",
                                    "confirm": "un-nouveau-2026"})
    assert live_records(patient) == 1  # this session's record only
    for _ in range(2):
        assert client.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302
    [ended] = recorded_events("session.ended_all")
    assert ended.details == {"count": 1, "reason": "password_changed"}


def test_password_reset_by_link_ends_every_session(app, patient):
    phone = log_in_elsewhere(app, patient)
    with app.test_request_context():
        token = password_reset_token(patient)
    with transaction():
        reset_password(token, "un-nouveau-2026")
    assert live_records(patient) == 0
    assert phone.get("/account").status_code == 302


def test_closing_the_account_ends_all_its_sessions(app, client, form_post):
    household = make_household()
    phone = log_in_elsewhere(app, household.account)
    log_in(form_post, household.account)
    stolen = copy_session(app, client)
    form_post("/account/confirm", {"password": factories.PASSWORD})
    assert form_post("/account/close", {"confirm": "y"}).headers["Location"] == "/"
    assert live_records(household.account) == 0
    for device in (client, phone, stolen):
        assert device.get("/account").status_code == 302
    [ended] = recorded_events("session.ended_all")
    assert ended.details == {"count": 2, "reason": "account_closed"}


def test_session_records_are_pruned_after_the_longest_lifetime(app, frozen_clock, patient):
    with transaction():
        old_token = session_records.open_session_record(patient)
    frozen_clock.advance(hours=7 * 24 + 1)
    with transaction():
        session_records.open_session_record(patient)
        assert session_records.prune_session_records() == 1
    assert db.session.get(BrowserSession, session_records.session_digest(old_token)) is None
    assert live_records(patient) == 1
