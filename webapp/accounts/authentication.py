"""Login and re-authentication: the password, the TOTP second factor, the lock-out after failures.

Services flush but never commit; the caller wraps them in `transaction()`
(failures are errors with `keeps_writes`, so the count survives the refusal).
"""

import datetime as dt

from flask import current_app

from webapp.accounts import passwords, totp
from webapp.accounts.errors import (
    AccountLocked,
    InvalidAccountData,
    InvalidCredentials,
    TotpRequired,
    WrongPassword,
)
from webapp.accounts.models import (
    User,
)
from webapp.accounts.registration import find_user_by_email
from webapp.audit.services import record_event
from webapp.db import now_utc
from webapp.errors import NotFound


def _record_failed_login(user: User, *, action: str = "login.failure", reason: str) -> None:
    """Count a failure (login or re-authentication) and lock the account at the limit."""
    user.failed_login_count += 1
    record_event(action, target_type="user", target_id=user.id, details={"reason": reason})
    if user.failed_login_count >= current_app.config["CARNET_LOGIN_LOCKOUT_ATTEMPTS"]:
        minutes = current_app.config["CARNET_LOGIN_LOCKOUT_MINUTES"]
        user.locked_until = now_utc() + dt.timedelta(minutes=minutes)
        # Counted again from zero: after the lock, the next lock comes after as many failures.
        user.failed_login_count = 0
        record_event("login.locked", target_type="user", target_id=user.id, details={"minutes": minutes})


def _refuse_if_locked(user: User) -> None:
    if user.locked_until and user.locked_until > now_utc():
        record_event("login.refused_locked", target_type="user", target_id=user.id)
        raise AccountLocked()


def check_password_login(email: str, password: str) -> User:
    """First factor. A locked account is refused even with the right password;
    failures count towards the lock-out (the caller must commit them).
    Every refusal is audited; an unknown email is never written down."""
    user = find_user_by_email(email)
    # Before the password is checked: during a lock, guessing learns nothing,
    # since the right password is refused like a wrong one.
    if user is not None:
        _refuse_if_locked(user)
    if user is None:
        passwords.verify_password(None, password)  # same time as a known account
        record_event("login.failure", details={"reason": "unknown_account"})
        raise InvalidCredentials()
    if not passwords.verify_password(user.password_hash, password):
        _record_failed_login(user, reason="bad_password")
        raise InvalidCredentials()
    if not user.is_active:
        _record_failed_login(user, reason="inactive_account")
        raise InvalidCredentials()
    return user


def check_second_factor(user: User, code: str | None) -> None:
    """Second factor for the roles that require it; a wrong code, or one that
    already opened a login or an action, counts as a failure, and an account
    locked meanwhile is refused even with a right code."""
    if not user.role.requires_totp:
        return
    _refuse_if_locked(user)
    if not totp.accept_code(user, code):
        if code:
            _record_failed_login(user, reason="bad_totp")
        raise TotpRequired()


def record_successful_login(user: User) -> None:
    """Reset the failure count and audit the login (with the factors used)."""
    user.failed_login_count = 0
    user.locked_until = None
    # The first login with a right code proves the app holds the secret: that
    # is the enrolment for an account registered through the API.
    if user.role.requires_totp and user.totp_enabled_at is None:
        user.totp_enabled_at = now_utc()
        record_event("totp.enrolled", actor=user, target_type="user", target_id=user.id)
    factors = "password_totp" if user.role.requires_totp else "password"
    record_event("login.success", actor=user, target_type="user", target_id=user.id, details={"factors": factors})


def enable_totp(user: User, secret: str, code: str) -> None:
    """First enrolment: the code proves the authenticator app holds the secret."""
    if not totp.accept_code(user, code, secret=secret):
        raise InvalidAccountData(fields={"code": [str(TotpRequired.default_message)]})
    user.totp_secret = secret
    user.totp_enabled_at = now_utc()
    record_event("totp.enrolled", actor=user, target_type="user", target_id=user.id)


def confirm_identity(user: User, password: str, code: str | None = None, *, purpose: str = "reauth",
                     with_totp: bool = True) -> None:
    """Re-authentication of a logged-in user before a sensitive action:
    the password, plus a TOTP code for the roles that use one. Failures count
    towards the lock-out like login failures, so a stolen session cannot
    guess the password; a locked account is refused."""
    _refuse_if_locked(user)
    if not passwords.verify_password(user.password_hash, password):
        _record_failed_login(user, action="reauth.failure", reason="bad_password")
        raise WrongPassword(fields={"password": [str(WrongPassword.default_message)]})
    if with_totp and user.role.requires_totp and not totp.accept_code(user, code):
        _record_failed_login(user, action="reauth.failure", reason="bad_totp")
        raise TotpRequired(fields={"code": [str(TotpRequired.default_message)]})
    user.failed_login_count = 0
    record_event("reauth.success", actor=user, target_type="user", target_id=user.id, details={"purpose": purpose})


def confirm_current_password(user: User, password: str, *, purpose: str) -> None:
    """`confirm_identity` by the password alone, for the account pages whose
    field is named `current_password` (a password or an email change)."""
    try:
        confirm_identity(user, password, purpose=purpose, with_totp=False)
    except WrongPassword as error:
        error.fields = {"current_password": error.fields["password"]}
        raise


def confirm_totp_code(user: User, code: str | None, *, purpose: str, field: str = "totp", now=None) -> None:
    """Re-authentication by a fresh TOTP code alone, for an action taken
    with a bearer token or a session already open (emergency access to a
    notebook): a code that already opened a login or an action is refused
    like a wrong one, and failures count towards the lock-out as for
    `confirm_identity`. `field` names the input in the error; `now` (aware)
    replaces the clock."""
    _refuse_if_locked(user)
    if not user.role.requires_totp or not totp.accept_code(user, code, now=now):
        _record_failed_login(user, action="reauth.failure", reason="bad_totp")
        raise TotpRequired(fields={field: [str(TotpRequired.default_message)]})
    user.failed_login_count = 0
    record_event("reauth.success", actor=user, target_type="user", target_id=user.id, details={"purpose": purpose})


def reset_totp(user: User, secret: str, code: str) -> None:
    """Move two-factor authentication to a new authenticator app (after a
    re-authentication): the new secret replaces the old once a code from it
    is shown. Only the roles that use TOTP have it."""
    if not user.role.requires_totp:
        raise NotFound()
    if not totp.is_well_formed_secret(secret) or not totp.accept_code(user, code, secret=secret):
        raise InvalidAccountData(fields={"code": [str(TotpRequired.default_message)]})
    user.totp_secret = secret
    user.totp_enabled_at = now_utc()
    record_event("totp.reset", actor=user, target_type="user", target_id=user.id)
