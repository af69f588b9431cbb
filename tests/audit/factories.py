"""Helpers for audit tests: reading the trail back, logging in through the pages."""

import sqlalchemy as sa

from tests.pages import log_in_with
from webapp.audit.models import AuditEvent
from webapp.audit.services import record_event
from webapp.extensions import db


def recorded_events(action: str | None = None) -> list[AuditEvent]:
    """The trail as another request would see it (committed rows only), oldest first."""
    db.session.expire_all()
    query = sa.select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


def recorded_actions() -> list[str]:
    return [event.action for event in recorded_events()]


def make_events(count: int, *, actor=None) -> list[AuditEvent]:
    """`count` committed events, as finished requests would leave them."""
    events = [record_event("test.event", actor=actor, target_type="thing", target_id=n, details={"n": n})
              for n in range(count)]
    db.session.commit()
    return events


# Re-exported: many tests log in with `log_in(form_post, user)` from here.
log_in = log_in_with
