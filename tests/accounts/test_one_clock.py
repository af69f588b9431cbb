"""Sessions and TOTP codes read the app's one clock (`now_utc()`): a clock
frozen days ahead of the wall clock neither logs a user out nor refuses their
codes, and a session idle past its limit by that clock still ends."""

import pyotp
import pytest

from tests import factories
from tests.audit.factories import log_in, recorded_events
from webapp.accounts import authentication, totp
from webapp.accounts.errors import TotpRequired
from webapp.db import system_time
from webapp.transaction import transaction

DAYS_AHEAD = 12


@pytest.fixture
def practitioner(frozen_clock):
    # Made once the clock is ahead: the password is stamped "changed" at that
    # moment, so a session timed by the wall clock would look older than it.
    frozen_clock.advance(days=DAYS_AHEAD)
    return factories.make_practitioner().user


def test_a_session_opened_days_ahead_of_the_wall_clock_stays_open(client, form_post, practitioner):
    log_in(form_post, practitioner)
    assert client.get("/account").status_code == 200
    assert client.get("/account?tab=security").status_code == 200
    assert recorded_events("session.expired") == []


def test_totp_reauthentication_works_on_a_clock_days_ahead(client, form_post, practitioner):
    log_in(form_post, practitioner)
    assert client.get("/account/two-factor").headers["Location"].startswith("/account/confirm")
    response = form_post("/account/confirm?next=/account/two-factor",
                         {"password": factories.PASSWORD, "code": factories.totp_now(practitioner)})
    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor"
    assert client.get("/account/two-factor").status_code == 200  # the re-authentication counts
    assert [event.details["purpose"] for event in recorded_events("reauth.success")] == ["reauth"]


def test_a_totp_code_is_the_frozen_moments_not_the_wall_clocks(practitioner):
    wall_clock_code = pyotp.TOTP(practitioner.totp_secret, interval=totp.STEP_SECONDS).at(system_time())
    with pytest.raises(TotpRequired), transaction():
        authentication.confirm_totp_code(practitioner, wall_clock_code, purpose="emergency_access")
    with transaction():
        authentication.confirm_totp_code(practitioner, factories.totp_now(practitioner), purpose="emergency_access")


def test_a_session_idle_past_its_limit_by_the_frozen_clock_ends(app, client, form_post, frozen_clock, practitioner):
    log_in(form_post, practitioner)
    frozen_clock.advance(minutes=app.config["CARNET_SESSION_IDLE_MINUTES"] - 1)
    assert client.get("/account").status_code == 200  # activity within the limit keeps it open
    frozen_clock.advance(minutes=app.config["CARNET_SESSION_IDLE_MINUTES"], seconds=1)
    response = client.get("/account")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    [event] = recorded_events("session.expired")
    assert event.details == {"reason": "idle"}
