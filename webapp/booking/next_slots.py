"""What a visitor is offered before choosing anything: each practitioner's
default visit reason and next free slots, for a whole page in a few queries.
"""

import datetime as dt

import sqlalchemy as sa

from webapp.booking import availability
from webapp.booking import slots as slot_rules
from webapp.booking.models import Appointment, AppointmentStatus, VisitReason
from webapp.db import now_utc
from webapp.extensions import db

# The bookings that tell which reason is the most common.
POPULARITY_DAYS = 180


def default_reasons(practitioner_ids: list[int], *, now: dt.datetime | None = None) -> dict[int, VisitReason]:
    """Each practitioner's reason to offer first (those without an active
    reason are left out): among the reasons open to new patients if there
    are any, the one booked most in the last POPULARITY_DAYS; the oldest
    between equals. One query for any number of practitioners."""
    if not practitioner_ids:
        return {}
    since = (now or now_utc()) - dt.timedelta(days=POPULARITY_DAYS)
    bookings = (sa.select(sa.func.count(Appointment.id))
                .where(Appointment.practitioner_id == VisitReason.practitioner_id,
                       Appointment.visit_reason_id == VisitReason.id, Appointment.start_at > since,
                       Appointment.status != AppointmentStatus.CANCELLED)
                .correlate(VisitReason).scalar_subquery())
    rows = db.session.execute(
        sa.select(VisitReason, bookings)
        .where(VisitReason.practitioner_id.in_(practitioner_ids), VisitReason.archived_at.is_(None)))
    chosen: dict[int, tuple] = {}
    for reason, count in rows:
        rank = (reason.new_patients, count, -reason.id)
        if reason.practitioner_id not in chosen or rank > chosen[reason.practitioner_id][0]:
            chosen[reason.practitioner_id] = (rank, reason)
    return {pid: reason for pid, (_, reason) in chosen.items()}


def next_free_slots(reasons: dict[int, VisitReason], count: int, *,
                    now: dt.datetime | None = None) -> dict[int, list[slot_rules.Slot]]:
    """The first `count` free slots of each practitioner for the given reason,
    as online booking sees them (holds count as taken), in at most
    1 + len(SEARCH_WINDOWS) queries whatever the number of practitioners."""
    return availability.first_free_slots({pid: {reason.duration_minutes} for pid, reason in reasons.items()},
                                         count, now=now or now_utc())
