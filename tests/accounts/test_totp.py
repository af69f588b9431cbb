"""The one check of a TOTP code: the window around now, and a code opens one action."""

import datetime as dt
import threading
import time

import pyotp
import pytest

from tests import factories
from webapp.accounts import totp
from webapp.accounts.models import User
from webapp.extensions import db

NOON = dt.datetime(2026, 12, 5, 12, 0, 10, tzinfo=dt.UTC)


@pytest.fixture
def user() -> User:
    return factories.make_practitioner().user


def _code(user, moment: dt.datetime, steps: int = 0) -> str:
    return pyotp.TOTP(user.totp_secret).at(moment + dt.timedelta(seconds=steps * totp.STEP_SECONDS))


def _accept(user, code, **options) -> bool:
    accepted = totp.accept_code(user, code, **options)
    db.session.commit()
    return accepted


def test_codes_of_the_step_and_of_the_one_either_side_are_accepted(user):
    for steps in (-1, 0, 1):
        fresh = factories.make_practitioner().user
        assert _accept(fresh, _code(fresh, NOON, steps), now=NOON)
    assert not _accept(user, _code(user, NOON, -2), now=NOON)
    assert not _accept(user, _code(user, NOON, 2), now=NOON)


@pytest.mark.parametrize("code", ["", None, "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_malformed_codes_are_refused(user, code):
    assert not _accept(user, code, now=NOON)


def test_a_code_opens_one_action_and_older_codes_none(user):
    code = _code(user, NOON)
    assert _accept(user, f" {code[:3]} {code[3:]} ", now=NOON)  # spaces as some apps show them
    assert not _accept(user, code, now=NOON)
    assert not _accept(user, _code(user, NOON, -1), now=NOON)
    assert _accept(user, _code(user, NOON, 1), now=NOON)
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_last_step == pyotp.TOTP(user.totp_secret).timecode(NOON) + 1


def test_a_new_secret_has_no_used_codes(user):
    assert _accept(user, _code(user, NOON), now=NOON)
    new_secret = totp.new_totp_secret()
    new_code = pyotp.TOTP(new_secret).at(NOON)
    assert _accept(user, new_code, secret=new_secret, now=NOON)


def test_the_test_helper_gives_a_fresh_code_each_time(user):
    for _ in range(3):  # within the same 30 s of the wall clock
        code = factories.totp_now(user)
        assert _accept(user, code)
    assert not _accept(user, code)


@pytest.mark.postgres_only
def test_the_same_code_sent_twice_at_once_opens_one_action(app, user):
    code, user_id = _code(user, NOON), user.id
    results, both_ready = [], threading.Barrier(2)

    def attempt():
        with app.app_context():
            account = db.session.get(User, user_id)
            both_ready.wait()
            results.append(totp.accept_code(account, code, now=NOON))
            time.sleep(0.2)  # the rest of the request's work, the account's row held
            db.session.commit()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(results) == [False, True]
