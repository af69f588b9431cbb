"""Booking: visit reasons, opening hours, slots, appointments, search, agenda, iCalendar."""

from flask import Blueprint

bp = Blueprint("booking", __name__, template_folder="templates")

from webapp.booking import models, views  # noqa: E402,F401  (registers the models and routes)
