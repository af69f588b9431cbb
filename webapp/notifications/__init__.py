"""Notifications: the outbox of email and SMS messages, their templates, and each user's settings.

It knows no feature (../shared/DESIGN.md): its services take plain values
(a user id, an address, a phone number); the page where an account chooses
its notifications belongs to accounts (`accounts.notification_settings_views`).
"""

from flask import Blueprint

bp = Blueprint("notifications", __name__, template_folder="templates")
