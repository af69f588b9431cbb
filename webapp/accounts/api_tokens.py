"""Bearer tokens of the API: issued, authenticated, listed and revoked.

Services flush but never commit; the caller wraps them in `transaction()`.
"""

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from webapp.accounts.errors import (
    InvalidToken,
)
from webapp.accounts.models import (
    ApiToken,
    User,
)
from webapp.audit.services import record_event
from webapp.db import now_utc
from webapp.errors import NotFound
from webapp.extensions import db

API_TOKEN_LAST_USE_PRECISION = dt.timedelta(minutes=1)


# A plain SHA-256 rather than a password hash: a token is 256 random bits, so
# no dictionary guesses it, and every API call computes its digest.
def _token_digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def issue_api_token(user: User) -> tuple[str, ApiToken]:
    """A new bearer token; only its digest is stored, the raw value is shown once."""
    raw = secrets.token_urlsafe(32)
    hours = current_app.config["CARNET_API_TOKEN_HOURS"]
    token = ApiToken(user=user, token_hash=_token_digest(raw), expires_at=now_utc() + dt.timedelta(hours=hours))
    db.session.add(token)
    db.session.flush()
    record_event("token.created", actor=user, target_type="api_token", target_id=token.id,
                 details={"expires_hours": hours})
    return raw, token


def _token_refusal(token: ApiToken | None, now: dt.datetime) -> str | None:
    if token is None:
        return "unknown"
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= now:
        return "expired"
    if not token.user.is_active:
        return "inactive_account"
    return None


# The token and its account in one query on the unique digest, built once: building
# the statement and its cache key (the joined load) on every API call cost as much
# as running it (micro-benchmark on SQLite, busy machine, 2026-12-05: CPU per call
# of `authenticate_api_token` 362-417 -> 199-215 µs, the price of a plain
# `session.get(User, id)`). A patient's own profile comes with it: what most of
# their calls read first (a booking: one statement fewer).
_TOKEN_BY_DIGEST = (sa.select(ApiToken).options(joinedload(ApiToken.user).joinedload(User.patient_profile))
                    .where(ApiToken.token_hash == sa.bindparam("digest")))


def authenticate_api_token(raw_token: str) -> ApiToken:
    """The live token for a raw bearer value. A known token that is revoked,
    expired or whose account is closed is refused and audited (the caller
    commits); unknown values are refused without a trace. Its last use is
    updated when the recorded one is a minute old or more."""
    token = db.session.scalar(_TOKEN_BY_DIGEST, {"digest": _token_digest(raw_token)})
    now = now_utc()
    if refusal := _token_refusal(token, now):
        if token is not None:
            record_event("token.refused", target_type="api_token", target_id=token.id, details={"reason": refusal})
        raise InvalidToken()
    # Recorded to the minute: a client making many calls does not write once per call.
    if token.last_used_at is None or now - token.last_used_at >= API_TOKEN_LAST_USE_PRECISION:
        token.last_used_at = now
    return token


def active_api_tokens(user: User) -> sa.Select:
    """The account's tokens that still work, newest first (a statement to page)."""
    return (
        sa.select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now_utc())
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )


def revoke_api_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = now_utc()
        record_event("token.revoked", actor=token.user, target_type="api_token", target_id=token.id)


def revoke_api_token_of(user: User, token_id: int) -> None:
    """Revoke one of the account's own live tokens (a lost phone); any other
    id, revoked or expired tokens included, is not found."""
    token = db.session.scalar(active_api_tokens(user).where(ApiToken.id == token_id))
    if token is None:
        raise NotFound()
    revoke_api_token(token)


def revoke_all_api_tokens(user: User) -> None:
    revoked = db.session.scalars(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now_utc())
        .returning(ApiToken.id)  # named in the audit event: which tokens ended can be told later
    ).all()
    if revoked:
        record_event("token.revoked_all", actor=user, target_type="user", target_id=user.id,
                     details={"count": len(revoked), "token_ids": revoked})
