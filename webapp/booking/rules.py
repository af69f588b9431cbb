"""The booking's limits and defaults, one home each.

The model's CHECK constraints, the services' checks, the forms' and API
schemas' validators and the messages that state a limit all read it here.
"""

from flask_babel import lazy_gettext as _l

# Appointments start and end on multiples of this many minutes (UTC), so that
# the time they occupy can be written as unique rows, one per cell.
CELL_MINUTES = 5
# The longest visit reason; an appointment lasts its reason's duration, so no
# appointment is longer either. A grid step (slot_step_minutes) has the same bound.
MAX_VISIT_MINUTES = 480

# Bookings, moves and cancellations per client and minute, on the pages and in the API.
BOOKING_RATE_LIMIT = "30 per minute"

DEFAULT_TIMEZONE = "Europe/Paris"
# A practitioner's booking rules until they set theirs (PractitionerSchedule).
SCHEDULE_DEFAULTS = {
    "timezone": DEFAULT_TIMEZONE,
    "min_notice_minutes": 120,
    "horizon_days": 90,
    "buffer_minutes": 0,
    "cancellation_deadline_hours": 24,
    "closed_on_public_holidays": True,
    "slot_step_minutes": None,
}
# The lowest and highest value of each numeric booking rule.
SCHEDULE_LIMITS = {
    "min_notice_minutes": (0, 30 * 24 * 60),
    "horizon_days": (1, 365),
    "buffer_minutes": (0, 240),
    "cancellation_deadline_hours": (0, 30 * 24),
}
MAX_HORIZON_DAYS = SCHEDULE_LIMITS["horizon_days"][1]
# The desk books as far ahead as any practitioner may let patients book.
DESK_HORIZON_DAYS = MAX_HORIZON_DAYS


def is_visit_length(minutes: int) -> bool:
    """A visit reason's duration, or a grid step: positive, on the cell grid, at most MAX_VISIT_MINUTES."""
    return 0 < minutes <= MAX_VISIT_MINUTES and minutes % CELL_MINUTES == 0


def visit_length_message():
    """What `is_visit_length` asks, said to the user."""
    return _l("A positive multiple of %(minutes)d minutes, at most %(most)d.", minutes=CELL_MINUTES,
              most=MAX_VISIT_MINUTES)

