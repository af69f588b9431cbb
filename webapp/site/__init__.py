"""Pages that belong to no feature: home, health check, language choice, the site icon."""

from flask import Blueprint

bp = Blueprint("site", __name__)

from webapp.site import icons, views  # noqa: E402,F401  (registers the routes)
