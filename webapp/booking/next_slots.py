"""What a visitor is offered before choosing anything: each practitioner's
default visit reason and next free slots, for a whole page in a few queries.
"""

import datetime as dt

import sqlalchemy as sa

from webapp.booking import availability, settings
from webapp.booking import slots as slot_rules
from webapp.booking.models import Appointment, AppointmentStatus, VisitReason
from webapp.booking.rules import MAX_HORIZON_DAYS
from webapp.db import now_utc
from webapp.extensions import db

# Windows (days ahead) searched one after the other, for the practitioners
# still short of slots: a page costs the same few queries whatever its size.
WINDOWS = (7, 31, 92, MAX_HORIZON_DAYS + 1)  # the last one covers any horizon
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
    1 + 2 × len(WINDOWS) queries whatever the number of practitioners."""
    now = now or now_utc()
    found: dict[int, list[slot_rules.Slot]] = {pid: [] for pid in reasons}
    remaining = sorted(reasons)
    schedules = settings.schedules_of(remaining) if remaining else {}
    today = now.date()
    first_day = today - dt.timedelta(days=1)  # UTC's date may be the day before the local one
    for window_days in WINDOWS:
        if not remaining:
            break
        last_day = today + dt.timedelta(days=window_days)
        availabilities = availability.load_availability(remaining, first_day, last_day, schedules=schedules, now=now)
        for pid in list(remaining):
            found[pid] += availabilities[pid].free_slots(first_day, last_day, reasons[pid].duration_minutes, now,
                                                         limit=count - len(found[pid]))
            if len(found[pid]) >= count:
                remaining.remove(pid)
        first_day = last_day + dt.timedelta(days=1)
    return found
