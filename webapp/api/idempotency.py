"""`Idempotency-Key` on POST handlers: a retried request gets the first answer.

A mobile client on a bad network cannot tell whether its POST arrived; it
sends the same request again with the same key. The first request claims
the key in its own committed transaction (unique per account), runs the
handler and stores the answer; a retry with the same body gets that answer
back (header `Idempotent-Replayed: true`) without running the handler; the
same key with another body is refused. Keys live for `KEY_LIFETIME`.
"""

import datetime as dt
import functools
import hashlib
import json

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, make_response, request
from flask_babel import lazy_gettext as _l
from flask_smorest.arguments import ArgumentsMixin

from webapp.api.auth import current_api_user, documented_errors
from webapp.api.models import IdempotencyKey
from webapp.db import now_utc
from webapp.errors import CarnetError, Conflict, InvalidInput, handle_carnet_error
from webapp.extensions import db

KEY_LIFETIME = dt.timedelta(hours=24)
REPLAY_HEADER = "Idempotent-Replayed"


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    default_message = _l("This Idempotency-Key was already used for a different request. Use a new key.")


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    default_message = _l("A request with this Idempotency-Key is still being processed. Retry in a moment.")


class IdempotencyHeadersSchema(ma.Schema):
    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key", validate=ma.validate.Length(min=1, max=255),
        metadata={
            "description": "A unique value per intended operation (a UUID): a retry with the same key "
                           "and body returns the first answer instead of acting twice. Kept 24 hours.",
            "example": "5f0c7a8e-3b1d-4c2a-9a57-1d2e3f4a5b6c",
        },
    )


_header_arguments = ArgumentsMixin()


def request_fingerprint() -> str:
    """SHA-256 of the method, path, query and body (JSON canonicalised)."""
    # Canonical JSON: the same body with its keys in another order is the same request.
    body = request.get_json(silent=True) if request.is_json else None
    payload = (json.dumps(body, sort_keys=True, separators=(",", ":")).encode() if body is not None
               else request.get_data(cache=True))
    digest = hashlib.sha256()
    # Each part prefixed with its length, so that no two different splits hash alike.
    for part in (request.method.encode(), request.path.encode(), request.query_string, payload):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _find(user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )


def _claim(user_id: int, key: str, fingerprint: str) -> tuple[IdempotencyKey | None, int | None]:
    """Claim the key, committed at once: (None, new record id), or the record
    that an earlier request holds (None if it vanished meanwhile)."""
    now = now_utc()
    db.session.execute(sa.delete(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key, IdempotencyKey.expires_at <= now,
    ))
    record = IdempotencyKey(user_id=user_id, key=key, request_hash=fingerprint, expires_at=now + KEY_LIFETIME)
    db.session.add(record)
    # Committed at once, in its own unit of work: a concurrent retry with the
    # same key then hits the unique constraint and waits for this answer.
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        return _find(user_id, key), None
    return None, record.id


def _replay(earlier: IdempotencyKey | None, fingerprint: str):
    if earlier is not None and earlier.request_hash != fingerprint:
        raise IdempotencyKeyReused(fields={"Idempotency-Key": [str(IdempotencyKeyReused.default_message)]})
    if earlier is None or not earlier.is_finished:
        raise IdempotencyKeyInUse()
    response = current_app.response_class(
        earlier.response_body, status=earlier.response_status, mimetype=earlier.response_mimetype,
    )
    response.headers[REPLAY_HEADER] = "true"
    return response


def _store(record_id: int, response) -> None:
    # The handler's unit of work has ended (committed, or failed and left to
    # roll back): the answer is stored in one of its own.
    db.session.rollback()
    db.session.execute(sa.update(IdempotencyKey).where(IdempotencyKey.id == record_id).values(
        response_status=response.status_code, response_body=response.get_data(as_text=True),
        response_mimetype=response.mimetype,
    ))
    db.session.commit()


def _release(record_id: int) -> None:
    db.session.rollback()
    db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id == record_id))
    db.session.commit()


def idempotent(view):
    """Honour an optional `Idempotency-Key` header on an authenticated POST.

    Place it under `@bearer_required(...)` and above `@blp.arguments`. The
    handler's answer is stored when it completes (success or a domain error
    such as 409); a request refused before the handler ran (bad body) or a
    server error releases the key so the client may retry.
    """

    @functools.wraps(view)
    def run_once(*args, idempotency_key: str | None = None, **kwargs):
        if idempotency_key is None:
            return view(*args, **kwargs)
        fingerprint = request_fingerprint()
        earlier, record_id = _claim(current_api_user().id, idempotency_key, fingerprint)
        if record_id is None:
            return _replay(earlier, fingerprint)
        try:
            response = make_response(view(*args, **kwargs))
        except CarnetError as error:
            response = make_response(handle_carnet_error(error))
        except BaseException:
            _release(record_id)
            raise
        if response.status_code >= 500:
            _release(record_id)
        else:
            _store(record_id, response)
        return response

    # An instance, built once: given the class, webargs would build one per request (webapp.api.blueprint).
    with_header = _header_arguments.arguments(IdempotencyHeadersSchema(), location="headers", as_kwargs=True)
    return documented_errors(409, 422)(with_header(run_once))


def purge_expired_idempotency_keys(now: dt.datetime | None = None) -> int:
    """Delete the keys past their lifetime at `now` (a daily job); returns how many."""
    result = db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or now_utc())))
    return result.rowcount
