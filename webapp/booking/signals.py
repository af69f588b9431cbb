"""Signals sent by the booking services inside the booking's transaction.

Receivers (the notifications outbox, reminders) write in the same unit of
work, so a rolled-back booking leaves no notification behind. Every signal is
sent with the app as sender and the objects as keyword arguments.
"""

from blinker import signal
from flask import current_app

# appointment=Appointment, actor=User
appointment_booked = signal("appointment-booked")
# appointment=Appointment, actor=User, reason=str | None
appointment_cancelled = signal("appointment-cancelled")
# appointment=Appointment, actor=User, previous_start_at=datetime, previous_end_at=datetime
appointment_rescheduled = signal("appointment-rescheduled")
# entry=WaitlistEntry, start_at=datetime (the freed start offered to the entry's patient)
waitlist_offer_made = signal("waitlist-offer-made")


def sender():
    """The sender every booking signal is sent with: the app."""
    return current_app._get_current_object()
