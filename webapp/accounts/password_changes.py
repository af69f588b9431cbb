"""Changing a password (on the account page or by a reset link) and ending every way in with it.

Services flush but never commit; the caller wraps them in `transaction()`.
"""

from blinker import signal
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.accounts import passwords, session_records
from webapp.accounts.api_tokens import revoke_all_api_tokens
from webapp.accounts.authentication import confirm_current_password
from webapp.accounts.errors import (
    InvalidAccountData,
)
from webapp.accounts.models import (
    User,
)
from webapp.accounts.registration import find_user_by_email
from webapp.audit.services import record_event
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notifications import messages
from webapp.signing import link_serializer, read_link
from webapp.urls import external_url

# Sent when a password change or the closure of the account ends every way in
# (sessions, API tokens), so that features above accounts revoke their own
# secrets too (booking: the calendar feed URL). Arguments: `user`, `reason`.
access_revoked = signal("account-access-revoked")


def revoke_all_access(user: User, *, reason: str, keep_session_token: str | None = None) -> None:
    """End every browser session of the account (but the one holding
    `keep_session_token`), revoke every API token, and tell the features above
    (`access_revoked`: booking revokes the calendar feed URL). Audited."""
    ended = session_records.end_all_session_records(user, keep_token=keep_session_token)
    if ended:
        record_event("session.ended_all", actor=user, target_type="user", target_id=user.id,
                     details={"count": ended, "reason": reason})
    revoke_all_api_tokens(user)
    access_revoked.send(current_app._get_current_object(), user=user, reason=reason)


def change_password(user: User, new_password: str, *, method: str = "account",
                    keep_session_token: str | None = None) -> None:
    """Set a new password (strength rules apply), lift any lock-out, and end
    every way in (`revoke_all_access`) but the session making the change."""
    problems = passwords.password_problems(new_password)
    if problems:
        raise InvalidAccountData(fields={"password": problems})
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = now_utc()
    user.failed_login_count = 0
    user.locked_until = None
    record_event("password.changed", actor=user, target_type="user", target_id=user.id, details={"method": method})
    revoke_all_access(user, reason="password_changed", keep_session_token=keep_session_token)


def change_own_password(user: User, current_password: str, new_password: str, *,
                        keep_session_token: str | None = None) -> None:
    """The account page: the current password is required (a failure counts
    towards the lock-out), then as `change_password`; the session holding
    `keep_session_token` (the one making the change) stays open."""
    confirm_current_password(user, current_password, purpose="password_change")
    change_password(user, new_password, keep_session_token=keep_session_token)


def password_reset_token(user: User) -> str:
    # Tied to the current hash, so the link stops working once it has been used.
    fingerprint = passwords.fingerprint(user.password_hash)
    return link_serializer("password-reset").dumps({"user_id": user.id, "fp": fingerprint})


def request_password_reset(email: str) -> None:
    """Queue a reset link for the account with this email, if there is one
    (the caller answers the same either way). Audited both ways."""
    user = find_user_by_email(email)
    if user is None:
        record_event("password.reset_requested", details={"reason": "unknown_account"})
        return
    record_event("password.reset_requested", target_type="user", target_id=user.id)
    token = password_reset_token(user)
    messages.notify_password_reset(
        key=messages.token_key("password-reset", user.id, token), to=user.email, locale=user.locale,
        reset_url=external_url("accounts.reset_password", token=token),
        valid_minutes=current_app.config["CARNET_PASSWORD_RESET_MINUTES"], user_id=user.id,
    )


def reset_password(token: str, new_password: str) -> User:
    data = read_link("password-reset", token, max_age_seconds=current_app.config["CARNET_PASSWORD_RESET_MINUTES"] * 60)
    user = db.session.get(User, data.get("user_id")) if data else None
    if user is None or data.get("fp") != passwords.fingerprint(user.password_hash):
        raise InvalidAccountData(_l("This reset link is invalid or has expired."))
    change_password(user, new_password, method="reset_link")
    return user
