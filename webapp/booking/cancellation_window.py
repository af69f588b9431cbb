"""The no-cancellation window: the hours before a visit when the patient side
can no longer cancel or move it online (the practitioner's deadline), and
must call the practice. The one home of that deadline: the services enforce
it through `check_patient_deadline`, the pages that warn about it ask where a
start falls."""

import datetime as dt

from webapp.booking.errors import CancellationDeadlinePassed
from webapp.booking.settings import schedule_of
from webapp.db import now_utc


def deadline_before(start_at: dt.datetime, deadline_hours: int) -> dt.datetime:
    """Until when a visit starting at `start_at` can be cancelled or moved
    online, under a deadline of `deadline_hours` before it."""
    return start_at - dt.timedelta(hours=deadline_hours)


def online_deadline(practitioner_id: int, start_at: dt.datetime) -> dt.datetime:
    """Until when an appointment starting at `start_at` can be cancelled or moved online."""
    return deadline_before(start_at, schedule_of(practitioner_id).cancellation_deadline_hours)


def check_patient_deadline(practitioner_id: int, start_at: dt.datetime, now: dt.datetime) -> None:
    """Refuse (409) a patient side's cancellation or move once the deadline has passed."""
    if now > online_deadline(practitioner_id, start_at):
        raise CancellationDeadlinePassed()


def window_opens_for(practitioner_id: int, now: dt.datetime | None = None) -> dt.datetime:
    """The earliest start that can still be cancelled online later: any start before it is inside the window."""
    return (now or now_utc()) + dt.timedelta(hours=schedule_of(practitioner_id).cancellation_deadline_hours)


def is_inside_window(practitioner_id: int, start_at: dt.datetime, now: dt.datetime | None = None) -> bool:
    """Whether an appointment at `start_at`, booked or moved now, could no longer be cancelled online."""
    return (now or now_utc()) >= online_deadline(practitioner_id, start_at)
