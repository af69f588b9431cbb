"""Pages that belong to no feature: home, health check, language choice."""

from flask import Blueprint

bp = Blueprint("site", __name__)

from webapp.site import views  # noqa: E402,F401  (registers the routes)
