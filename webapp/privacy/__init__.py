"""Privacy rights: a patient downloads all their data, or closes their account."""

from flask import Blueprint

bp = Blueprint("privacy", __name__, template_folder="templates")

from webapp.privacy import views  # noqa: E402,F401  (registers the routes)
