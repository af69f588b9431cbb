"""Writing, verifying, searching and exporting the audit trail.

`record_event` is the one way to write it: it adds a row to the caller's
unit of work, so the event is committed with the action it describes, or not
at all. It never commits.
"""

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.dialects import postgresql, sqlite

from webapp.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from webapp.db import now_utc
from webapp.errors import Forbidden
from webapp.extensions import db
from webapp.paging import paginate

# A plain string rather than accounts' `Role` (a StrEnum, so they compare
# equal): the audit knows no feature, and every feature writes to it.
AUDIT_READER_ROLE = "admin"
CHAIN_HEAD_ID = 1
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
TARGET_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DETAIL_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Codes, ids and timestamps; no spaces and no "@", so no free text or email fits.
DETAIL_CODE_PATTERN = re.compile(r"^[A-Za-z0-9_.:+\-]{0,64}$")
HASHED_COLUMNS = (
    "id", "occurred_at", "actor_id", "actor_role", "action", "target_type", "target_id",
    "ip", "user_agent", "details", "prev_hash",
)


class AuditChainBroken(RuntimeError):
    """The chain head is missing while events exist: refuse to fork the chain."""


def _checked_details(details: dict | None) -> dict:
    checked = {}
    for key, value in (details or {}).items():
        if not isinstance(key, str) or not DETAIL_KEY_PATTERN.match(key):
            raise ValueError(f"audit detail key {key!r} is not a code")
        is_id_list = isinstance(value, list | tuple) and all(
            isinstance(item, int) and not isinstance(item, bool) for item in value
        )
        if is_id_list:
            value = list(value)
        elif not (value is None or isinstance(value, bool | int)
                  or (isinstance(value, str) and DETAIL_CODE_PATTERN.match(value))):
            raise ValueError(f"audit detail {key!r} must be an id or a code, never free text")
        checked[key] = value
    return checked


def event_hash(event: AuditEvent) -> str:
    """SHA-256 of the event's canonical JSON, which includes the previous hash."""
    content = {name: getattr(event, name) for name in HASHED_COLUMNS}
    content["occurred_at"] = event.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _create_chain_head() -> None:
    """Start the chain on an empty trail. A concurrent first appender may be
    doing the same: the conflicting insert waits for it, then does nothing."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    created = db.session.execute(
        insert(AuditChainHead)
        .values(id=CHAIN_HEAD_ID, last_event_id=0, last_hash=GENESIS_HASH)
        .on_conflict_do_nothing()
        .returning(AuditChainHead.id)
    ).scalar_one_or_none()
    if created is not None and db.session.scalar(sa.select(sa.func.max(AuditEvent.id))) is not None:
        raise AuditChainBroken("the audit chain head is missing while events exist")


def _take_next_position() -> tuple[int, str]:
    """Lock the chain head and move it one step: (new event id, previous hash).

    The UPDATE holds the head's row lock on PostgreSQL until the transaction
    ends, so a concurrent appender waits and then sees this event as the
    last; on SQLite it takes the database write lock, with the same effect.
    """
    advance = (
        sa.update(AuditChainHead)
        .where(AuditChainHead.id == CHAIN_HEAD_ID)
        .values(last_event_id=AuditChainHead.last_event_id + 1)
        .returning(AuditChainHead.last_event_id, AuditChainHead.last_hash)
        .execution_options(synchronize_session=False)
    )
    row = db.session.execute(advance).one_or_none()
    if row is None:
        _create_chain_head()
        row = db.session.execute(advance).one()
    return row.last_event_id, row.last_hash


def _request_origin() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    # Cut to the column's length: a client's long header must not make the
    # action it audits fail.
    user_agent = request.headers.get("User-Agent", "")[:255] or None
    return request.remote_addr, user_agent


def record_event(action: str, *, actor=None, target_type: str | None = None, target_id=None,
                 details: dict | None = None) -> AuditEvent:
    """Append one event to the trail, in the caller's transaction.

    `actor` is the acting user (anything with `id` and `role`), None for an
    anonymous or system action. `details` holds ids and codes only (never
    names, free text or health content): anything else raises ValueError.
    The IP address and user agent come from the current request, if any.
    """
    if not ACTION_PATTERN.match(action):
        raise ValueError(f"audit action {action!r} is not a dotted code")
    if target_type is not None and not TARGET_TYPE_PATTERN.match(target_type):
        raise ValueError(f"audit target type {target_type!r} is not a code")
    details = _checked_details(details)
    ip, user_agent = _request_origin()
    position, prev_hash = _take_next_position()
    role = getattr(actor, "role", None)
    event = AuditEvent(
        id=position, occurred_at=now_utc(), actor_id=actor.id if actor is not None else None,
        actor_role=str(role) if role is not None else None, action=action, target_type=target_type,
        target_id=str(target_id) if target_id is not None else None, ip=ip, user_agent=user_agent,
        details=details, prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    db.session.add(event)
    db.session.flush()
    # The head keeps the newest hash: the next event links to it, and the
    # verification detects a removed last row by comparing with it.
    db.session.execute(
        sa.update(AuditChainHead).where(AuditChainHead.id == CHAIN_HEAD_ID).values(last_hash=event.hash)
        .execution_options(synchronize_session=False)
    )
    return event


@dataclasses.dataclass(frozen=True)
class ChainReport:
    """The outcome of a verification: `bad_event_id` is None when the chain is intact."""

    checked: int
    last_hash: str
    bad_event_id: int | None = None
    problem: str | None = None

    @property
    def is_intact(self) -> bool:
        return self.problem is None


def verify_chain(batch_size: int = 1000) -> ChainReport:
    """Recompute the chain from the first event and report the first bad row.

    A changed row fails its own hash; a removed row leaves a gap in the ids
    or a broken link; an inserted row breaks the link of the row after it or
    disagrees with the chain head; a removed last row disagrees with the head.
    """
    checked, expected_id, previous_hash = 0, 1, GENESIS_HASH
    events = db.session.scalars(
        sa.select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch_size)
    )
    with contextlib.closing(events):  # a server-side cursor on PostgreSQL
        for event in events:
            if event.id != expected_id:
                return ChainReport(checked, previous_hash, expected_id,
                                   f"event {expected_id} is missing (the next row is event {event.id})")
            if event.prev_hash != previous_hash:
                return ChainReport(checked, previous_hash, event.id,
                                   "its previous hash does not match the row before it (a row was removed or inserted)")
            if event_hash(event) != event.hash:
                return ChainReport(checked, previous_hash, event.id,
                                   "its content does not match its hash (it was changed)")
            checked, expected_id, previous_hash = checked + 1, expected_id + 1, event.hash
    head = db.session.get(AuditChainHead, CHAIN_HEAD_ID)
    head_id, head_hash = (head.last_event_id, head.last_hash) if head else (0, GENESIS_HASH)
    if (head_id, head_hash) != (checked, previous_hash):
        # Rows missing at the end, rows added after the head, or a replaced last row.
        bad_id = checked + 1 if head_id > checked else head_id + 1 if head_id < checked else checked
        return ChainReport(checked, previous_hash, bad_id,
                           f"the chain head names event {head_id}, the trail ends at event {checked}")
    return ChainReport(checked, previous_hash)


@dataclasses.dataclass(frozen=True)
class EventFilters:
    action: str | None = None
    actor_id: int | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _filtered(filters: EventFilters) -> sa.Select:
    query = sa.select(AuditEvent)
    if filters.action:
        # An action or a family of actions: "login" matches "login.failure".
        query = query.where(sa.or_(AuditEvent.action == filters.action,
                                   AuditEvent.action.startswith(filters.action + ".", autoescape=True)))
    if filters.actor_id is not None:
        query = query.where(AuditEvent.actor_id == filters.actor_id)
    if filters.target_type:
        query = query.where(AuditEvent.target_type == filters.target_type)
    if filters.target_id:
        query = query.where(AuditEvent.target_id == filters.target_id)
    if filters.since:
        query = query.where(AuditEvent.occurred_at >= filters.since)
    if filters.until:
        query = query.where(AuditEvent.occurred_at < filters.until)
    return query


def search_events(viewer, filters: EventFilters, *, page: int = 1, per_page: int = 50) -> tuple[list[AuditEvent], int]:
    """Events matching the filters, newest first, for the operator's admins only.

    Reading the trail is itself recorded."""
    if viewer is None or getattr(viewer, "role", None) != AUDIT_READER_ROLE:
        raise Forbidden()
    result = paginate(_filtered(filters).order_by(AuditEvent.id.desc()), page=page, per_page=per_page)
    # Who looked at the trail is part of the trail (an admin browsing
    # people's logins leaves a trace of it).
    record_event("audit.viewed", actor=viewer, details={"page": page, "results": result["total"]})
    return list(result["items"]), result["total"]


def iter_events(filters: EventFilters, batch_size: int = 1000) -> Iterator[AuditEvent]:
    """Every matching event, oldest first, streamed in batches (for exports)."""
    events = db.session.scalars(_filtered(filters).order_by(AuditEvent.id).execution_options(yield_per=batch_size))
    with contextlib.closing(events):
        yield from events


def event_as_dict(event: AuditEvent) -> dict:
    return {
        "id": event.id, "occurred_at": event.occurred_at.isoformat(), "actor_id": event.actor_id,
        "actor_role": event.actor_role, "action": event.action, "target_type": event.target_type,
        "target_id": event.target_id, "ip": event.ip, "user_agent": event.user_agent,
        "details": event.details, "prev_hash": event.prev_hash, "hash": event.hash,
    }
