"""Session lifetime, idle timeout and re-authentication before sensitive actions.

A browser session records when its user logged in (`auth_at`), was last
seen (`seen_at`) and last re-entered their credentials (`reauth_at`), as
Unix times of the app's one clock (`now_utc()`): a session compared with
the password change stamped by that clock, or with a frozen clock in the
tests, is never ended by a difference between two clocks. Practitioners, staff and admins get a short absolute lifetime
and idle timeout; patients a longer one (CARNET_* settings, see README).
A session opened before the account's last password change ends too.

Each session also has a server-side record (`session_records`), named by a
random token in the cookie (`sid`) and checked on every page request: logout
ends that record, so a copy of the cookie opens nothing afterwards, while
the user's other devices stay logged in.
"""

import functools
from dataclasses import dataclass

from flask import current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from webapp.accounts import session_records
from webapp.accounts.errors import ReauthRequired
from webapp.audit.services import record_event
from webapp.db import now_utc
from webapp.errors import is_api_request
from webapp.languages import LOCALE_KEY, keep_chosen_locale
from webapp.transaction import transaction

AUTH_AT, SEEN_AT, REAUTH_AT = "auth_at", "seen_at", "reauth_at"
SESSION_ID_KEY = "sid"
# Rewriting the cookie on every request is useless below this precision.
SEEN_AT_RESOLUTION_SECONDS = 60


def _now() -> float:
    """The app's clock as a Unix time: what the cookie stores (a JSON number)."""
    return now_utc().timestamp()


@dataclass(frozen=True)
class SessionOpening:
    """What a web login wrote, for the new browser session to carry."""

    token: str
    locale: str | None


def prepare_session(user) -> SessionOpening:
    """The writes of a web login, in the caller's unit of work (the login's
    own): the session's server-side record, and a language picked in this
    browser before logging in kept on the account."""
    return SessionOpening(session_records.open_session_record(user), keep_chosen_locale(user))


def start_session(user, opening: SessionOpening) -> None:
    """Once the login's unit of work committed: log `user` in on a fresh
    session. Clearing it first means a session id planted before the login
    never becomes a logged-in one (no fixation)."""
    session.clear()
    login_user(user)
    session.permanent = True
    session[AUTH_AT] = session[SEEN_AT] = _now()
    session[SESSION_ID_KEY] = opening.token
    if opening.locale:
        session[LOCALE_KEY] = opening.locale


def current_session_token() -> str | None:
    """The token of this browser session's record (kept by a password change)."""
    token = session.get(SESSION_ID_KEY)
    return token if isinstance(token, str) else None


def end_session(user, *, reason: str = "logout") -> None:
    """End this session's record and clear the cookie; the user's other
    sessions stay open. A logout is audited (`session.logout`); a lock-out
    is audited where it happens."""
    if user is not None and user.is_authenticated:
        with transaction():
            session_records.end_session_record(session.get(SESSION_ID_KEY))
            if reason == "logout":
                record_event("session.logout", actor=user, target_type="user", target_id=user.id)
    logout_user()
    session.clear()


def mark_reauthenticated() -> None:
    session[REAUTH_AT] = _now()


def restart_after_password_change() -> None:
    """The session that changed the password stays open; older ones end."""
    session[AUTH_AT] = _now()


def session_limits(user) -> tuple[int, int]:
    """(absolute lifetime, idle timeout) in seconds for this user's role."""
    config = current_app.config
    if user.role.requires_totp:
        return config["CARNET_SESSION_LIFETIME_HOURS"] * 3600, config["CARNET_SESSION_IDLE_MINUTES"] * 60
    return (config["CARNET_PATIENT_SESSION_LIFETIME_HOURS"] * 3600,
            config["CARNET_PATIENT_SESSION_IDLE_MINUTES"] * 60)


def _expiry_reason(user, now: float) -> str | None:
    auth_at, seen_at = session.get(AUTH_AT), session.get(SEEN_AT)
    if not isinstance(auth_at, int | float) or not isinstance(seen_at, int | float):
        return "unknown_start"
    lifetime, idle = session_limits(user)
    if now - auth_at > lifetime:
        return "lifetime"
    if now - seen_at > idle:
        return "idle"
    # Opened before a password change or the closure of the account: it may be
    # the session of whoever knew the old password.
    if auth_at < user.password_changed_at.timestamp():
        return "password_changed"
    if not session_records.is_live_session(session.get(SESSION_ID_KEY), user):
        return "ended"  # logged out elsewhere with a copy of this cookie, or closed
    return None


def enforce_session_limits():
    """Before each page request: end an expired session and send its user
    to the login page (coming back here afterwards); else note the activity."""
    if is_api_request() or request.endpoint == "static" or not current_user.is_authenticated:
        return None
    now = _now()
    user = current_user._get_current_object()
    reason = _expiry_reason(user, now)
    if reason is None:
        if now - session[SEEN_AT] >= SEEN_AT_RESOLUTION_SECONDS:
            session[SEEN_AT] = now
        return None
    with transaction():
        record_event("session.expired", actor=user, target_type="user", target_id=user.id, details={"reason": reason})
    # The language was chosen by the person at the screen: the login page keeps it.
    locale = session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("Your session has expired. Log in again to continue."), "warning")
    next_url = request.full_path if request.method == "GET" and request.query_string else request.path
    return redirect(url_for("accounts.login", next=next_url if request.method == "GET" else None))


def recently_reauthenticated() -> bool:
    reauth_at = session.get(REAUTH_AT)
    window = current_app.config["CARNET_REAUTH_MINUTES"] * 60
    return isinstance(reauth_at, int | float) and _now() - reauth_at <= window


def reauth_required(view):
    """Ask for the credentials again before a sensitive action.

    Pages: the password (and a TOTP code for the roles that use one) must
    have been re-entered within CARNET_REAUTH_MINUTES, else the user is sent
    to the confirmation page and back. API (under `bearer_required`): the
    bearer token must have been issued within that window, else 401
    `reauth_required` (the client asks for a new token with the credentials).
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        window = current_app.config["CARNET_REAUTH_MINUTES"] * 60
        if is_api_request():
            token = g.get("api_token")
            if token is None or _now() - token.created_at.timestamp() > window:
                raise ReauthRequired()
            return view(*args, **kwargs)
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if not recently_reauthenticated():
            here = request.full_path if request.query_string else request.path
            return redirect(url_for("accounts.reauthenticate", next=here))
        return view(*args, **kwargs)

    return wrapper
