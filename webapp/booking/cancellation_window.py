"""The no-cancellation window: the hours before a visit when the patient side
can no longer cancel or move it online (the practitioner's deadline), and
must call the practice. The deadline itself is enforced by the services;
this module says where a start falls, for the pages that warn about it."""

import datetime as dt

from webapp.booking.settings import schedule_of
from webapp.db import now_utc


def online_deadline(practitioner_id: int, start_at: dt.datetime) -> dt.datetime:
    """Until when an appointment starting at `start_at` can be cancelled or moved online."""
    return start_at - dt.timedelta(hours=schedule_of(practitioner_id).cancellation_deadline_hours)


def window_opens_for(practitioner_id: int, now: dt.datetime | None = None) -> dt.datetime:
    """The earliest start that can still be cancelled online later: any start before it is inside the window."""
    return (now or now_utc()) + dt.timedelta(hours=schedule_of(practitioner_id).cancellation_deadline_hours)


def is_inside_window(practitioner_id: int, start_at: dt.datetime, now: dt.datetime | None = None) -> bool:
    """Whether an appointment at `start_at`, booked or moved now, could no longer be cancelled online."""
    return (now or now_utc()) >= online_deadline(practitioner_id, start_at)
