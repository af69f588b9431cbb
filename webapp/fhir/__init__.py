"""FHIR R4 scheduling API (/fhir/r4): free Slots, Schedules and Practitioners, read anonymously (FR Core)."""

from flask import Blueprint, Flask

from webapp.extensions import csrf
from webapp.fhir.errors import register_fhir_error_handlers

bp = Blueprint("fhir", __name__, url_prefix="/fhir/r4")
register_fhir_error_handlers(bp)

from webapp.fhir import views  # noqa: E402,F401  (registers the routes)


def register_fhir(app: Flask) -> None:
    # Anonymous reads with no session: nothing for a CSRF token to protect, and
    # a POST under the base must get its 405 OperationOutcome, not a CSRF page.
    csrf.exempt(bp)
    app.register_blueprint(bp)
