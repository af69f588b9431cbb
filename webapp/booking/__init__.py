"""Booking: visit reasons, opening hours, slots, appointments, search, agenda, iCalendar."""

from flask import Blueprint

bp = Blueprint("booking", __name__, template_folder="templates")

# Importing them registers the models and the routes.
from webapp.booking import (  # noqa: E402,F401
    agenda_views,
    appointment_change_views,
    desk_views,
    journey_views,
    models,
    next_availability,
    patient_views,
    schedule_views,
    search_views,
    settings_views,
)


def connect_account_signals() -> None:
    """Revoke the calendar feed when an account's access is revoked (connecting twice is harmless)."""
    from webapp.accounts.password_changes import access_revoked
    from webapp.booking.calendar_feed import on_account_access_revoked

    access_revoked.connect(on_account_access_revoked)
