"""The accounts services, called the way views and API handlers call them:
inside `transaction()`, each refusal with its error and what it leaves written."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.accounts import api_tokens, authentication, password_changes, registration
from webapp.accounts.errors import (
    AccountLocked,
    EmailTaken,
    InvalidAccountData,
    InvalidCredentials,
    InvalidToken,
    WrongPassword,
)
from webapp.accounts.locale import set_account_locale
from webapp.accounts.models import ApiToken, Role, User
from webapp.accounts.session_records import is_live_session, open_session_record
from webapp.audit.models import AuditEvent
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.transaction import transaction

NEW_PASSWORD = "une-autre-phrase-2026"


def register(**overrides) -> User:
    values = {"email": "lucie@example.com", "password": "une-phrase-2026", "first_name": "Lucie",
              "last_name": "Moreau", "birth_date": dt.date(1990, 5, 17)}
    with transaction():
        return registration.register_patient(**(values | overrides))


def committed_actions() -> list[str]:
    """The audit trail as the next request sees it (committed rows only)."""
    db.session.rollback()
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# Registration


def test_registration_creates_the_patient_account_and_its_profile():
    user = register(email="  Lucie@Example.com ")
    assert user.role is Role.PATIENT and user.email == "lucie@example.com"
    assert user.patient_profile.first_name == "Lucie" and user.email_confirmed_at is None
    assert "account.created" in committed_actions()


def test_registration_refuses_an_email_already_taken_whatever_its_case():
    register()
    with pytest.raises(EmailTaken) as refused:
        register(email="LUCIE@example.com")
    assert "email" in refused.value.fields
    assert count(User) == 1


@pytest.mark.parametrize(("field", "change"), [
    ("password", {"password": "short"}),
    ("password", {"password": "onlyletterswithoutdigits"}),
    ("birth_date", {"birth_date": dt.date(1850, 1, 1)}),
    ("first_name", {"first_name": ""}),
    ("phone", {"phone": "12"}),
])
def test_registration_refuses_bad_fields_and_writes_nothing(field, change):
    with pytest.raises(InvalidAccountData) as refused:
        register(**change)
    assert field in refused.value.fields
    assert count(User) == 0 and committed_actions() == []


# Login and lock-out


def test_a_good_password_logs_in_and_a_wrong_one_counts(app):
    user = factories.make_patient().account
    with transaction():
        assert authentication.check_password_login(user.email, factories.PASSWORD) is user
    with pytest.raises(InvalidCredentials), transaction():
        authentication.check_password_login(user.email, "not-the-password")
    db.session.expire_all()
    assert user.failed_login_count == 1  # the failure is committed (keeps_writes)
    assert committed_actions()[-1] == "login.failure"


def test_an_unknown_email_is_refused_like_a_wrong_password_and_names_nobody():
    with pytest.raises(InvalidCredentials), transaction():
        authentication.check_password_login("nobody@example.com", factories.PASSWORD)
    [event] = db.session.scalars(sa.select(AuditEvent)).all()
    assert event.action == "login.failure" and event.target_id is None


def test_the_account_locks_at_the_limit_and_refuses_even_the_right_password(app, frozen_clock):
    user = factories.make_patient().account
    for _ in range(app.config["CARNET_LOGIN_LOCKOUT_ATTEMPTS"]):
        with pytest.raises(InvalidCredentials), transaction():
            authentication.check_password_login(user.email, "not-the-password")
    db.session.expire_all()
    assert user.locked_until == frozen_clock.now + dt.timedelta(minutes=app.config["CARNET_LOGIN_LOCKOUT_MINUTES"])
    with pytest.raises(AccountLocked), transaction():
        authentication.check_password_login(user.email, factories.PASSWORD)
    assert committed_actions()[-2:] == ["login.locked", "login.refused_locked"]
    frozen_clock.advance(minutes=app.config["CARNET_LOGIN_LOCKOUT_MINUTES"], seconds=1)
    with transaction():
        assert authentication.check_password_login(user.email, factories.PASSWORD) is user


def test_a_closed_account_cannot_log_in_even_with_its_password():
    user = factories.make_patient(user_overrides={"is_active_account": False}).account
    with pytest.raises(InvalidCredentials), transaction():
        authentication.check_password_login(user.email, factories.PASSWORD)


# Password change


def test_a_password_change_ends_every_other_session_and_token():
    user = factories.make_patient().account
    with transaction():
        this_browser, other_browser = open_session_record(user), open_session_record(user)
        raw, _ = api_tokens.issue_api_token(user)
    with transaction():
        password_changes.change_own_password(user, factories.PASSWORD, NEW_PASSWORD, keep_session_token=this_browser)
    assert is_live_session(this_browser, user) and not is_live_session(other_browser, user)
    with pytest.raises(InvalidToken), transaction():
        api_tokens.authenticate_api_token(raw)
    with transaction():
        assert authentication.check_password_login(user.email, NEW_PASSWORD) is user


def test_a_password_change_with_a_wrong_current_password_changes_nothing_but_counts():
    user = factories.make_patient().account
    with transaction():
        session_token = open_session_record(user)
    with pytest.raises(WrongPassword) as refused, transaction():
        password_changes.change_own_password(user, "not-the-password", NEW_PASSWORD)
    assert "current_password" in refused.value.fields
    db.session.expire_all()
    assert user.failed_login_count == 1 and is_live_session(session_token, user)
    with transaction():
        authentication.check_password_login(user.email, factories.PASSWORD)


def test_a_weak_new_password_is_refused_and_every_session_stays():
    user = factories.make_patient().account
    with transaction():
        session_token = open_session_record(user)
    with pytest.raises(InvalidAccountData) as refused, transaction():
        password_changes.change_own_password(user, factories.PASSWORD, "short")
    assert "password" in refused.value.fields
    assert is_live_session(session_token, user)
    assert "password.changed" not in committed_actions()


# API tokens


def test_a_token_authenticates_until_revoked_then_is_refused_and_audited():
    user = factories.make_patient().account
    with transaction():
        raw, token = api_tokens.issue_api_token(user)
    with transaction():
        assert api_tokens.authenticate_api_token(raw) is token
    with transaction():
        api_tokens.revoke_api_token_of(user, token.id)
    with pytest.raises(InvalidToken), transaction():
        api_tokens.authenticate_api_token(raw)
    assert committed_actions()[-2:] == ["token.revoked", "token.refused"]


def test_an_unknown_token_is_refused_without_a_trace():
    with pytest.raises(InvalidToken), transaction():
        api_tokens.authenticate_api_token("made-up-value")
    assert committed_actions() == []


def test_nobody_revokes_another_accounts_token_nor_a_revoked_one():
    owner, other = factories.make_patient().account, factories.make_patient().account
    with transaction():
        _, token = api_tokens.issue_api_token(owner)
    with pytest.raises(NotFound), transaction():
        api_tokens.revoke_api_token_of(other, token.id)
    with transaction():
        api_tokens.revoke_api_token_of(owner, token.id)
    with pytest.raises(NotFound), transaction():
        api_tokens.revoke_api_token_of(owner, token.id)
    assert db.session.get(ApiToken, token.id).revoked_at is not None


# Language


def test_the_accounts_language_follows_the_switch():
    user = factories.make_patient().account
    with transaction():
        set_account_locale(user, "en")
    db.session.expire_all()
    assert user.locale == "en"
