"""Expired slot holds give their time back: what booking asks before writing cells.

A hold's cells stay in the table after it expires (no job has to run for
the slot to be free again); whoever writes cells over that time first
deletes the expired holds in the way, inside its own transaction, so the
primary key of the cells still arbitrates between concurrent writers.
"""

import datetime as dt

import sqlalchemy as sa

from webapp.booking.models import SlotHold
from webapp.extensions import db


def release_expired_holds(practitioner_id: int, start_at: dt.datetime, end_at: dt.datetime,
                          now: dt.datetime) -> None:
    """Delete the practitioner's expired holds overlapping [start_at, end_at)
    (their cells go with them)."""
    expired = list(db.session.scalars(sa.select(SlotHold).where(
        SlotHold.practitioner_id == practitioner_id, SlotHold.start_at < end_at, SlotHold.end_at > start_at,
        SlotHold.expires_at <= now)))
    for hold in expired:
        db.session.delete(hold)
    if expired:
        db.session.flush()


def active_holds_condition(now_parameter) -> sa.ColumnElement[bool]:
    """Holds that still keep their time (for the busy times of slot computation)."""
    return SlotHold.expires_at > now_parameter
