"""Errors of the privacy services."""

from flask_babel import lazy_gettext as _l

from webapp.errors import Conflict


class UpcomingAppointments(Conflict):
    code = "upcoming_appointments"
    default_message = _l("Cancel your upcoming appointments (yours and your relatives') before closing your account.")
