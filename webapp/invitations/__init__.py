"""Invitations: the desk invites a patient created without an account to claim their profile."""

from flask import Blueprint

bp = Blueprint("invitations", __name__, template_folder="templates")

from webapp.invitations import models, views  # noqa: E402,F401  (registers the models and routes)
