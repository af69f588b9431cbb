"""Notifications: the outbox of email and SMS messages, their templates, and each patient's settings."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, template_folder="templates")

from webapp.notifications import views  # noqa: E402,F401  (registers the routes)
