"""Server-side records of browser sessions: opened where a login finishes,
looked up on every page request, ended by logout (that session only), a
password change (all but the session making it) or the closure of the account.

The signed cookie holds a random token; the table keeps only its SHA-256
digest, so a copy of the database opens no session. Services flush but never
commit; the caller wraps them in `transaction()`.
"""

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask import current_app

from webapp.accounts.models import BrowserSession, User
from webapp.db import now_utc
from webapp.extensions import db


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session_record(user: User) -> str:
    """A new live session for `user`; returns the token the cookie keeps."""
    token = secrets.token_urlsafe(32)
    db.session.add(BrowserSession(id=session_digest(token), user_id=user.id, created_at=now_utc()))
    db.session.flush()
    return token


def is_live_session(token: object, user: User) -> bool:
    """Whether the cookie's token names a session of this user that nothing
    ended (one primary-key lookup)."""
    if not isinstance(token, str) or not token:
        return False
    record = db.session.get(BrowserSession, session_digest(token))
    return record is not None and record.user_id == user.id and record.ended_at is None


def end_session_record(token: object) -> None:
    """End one session (logout); an unknown or already ended one is left as is."""
    if not isinstance(token, str) or not token:
        return
    db.session.execute(sa.update(BrowserSession)
                       .where(BrowserSession.id == session_digest(token), BrowserSession.ended_at.is_(None))
                       .values(ended_at=now_utc()))


def end_all_session_records(user: User, *, keep_token: str | None = None) -> int:
    """End every live session of `user` but the one holding `keep_token`
    (the session that changed the password); returns how many ended."""
    query = (sa.update(BrowserSession)
             .where(BrowserSession.user_id == user.id, BrowserSession.ended_at.is_(None))
             .values(ended_at=now_utc())
             .execution_options(synchronize_session=False))
    if keep_token:
        query = query.where(BrowserSession.id != session_digest(keep_token))
    return db.session.execute(query).rowcount


def longest_session_lifetime() -> dt.timedelta:
    config = current_app.config
    return dt.timedelta(hours=max(config["CARNET_SESSION_LIFETIME_HOURS"],
                                  config["CARNET_PATIENT_SESSION_LIFETIME_HOURS"]))


def prune_session_records(now: dt.datetime | None = None) -> int:
    """Delete the records opened longer ago than the longest session lifetime:
    ended or not, their sessions are over (a daily job); returns how many."""
    cutoff = (now or now_utc()) - longest_session_lifetime()
    return db.session.execute(sa.delete(BrowserSession).where(BrowserSession.created_at < cutoff)).rowcount
