"""FHIR R4 scheduling API (/fhir/r4): free Slots, Schedules and Practitioners, read anonymously (FR Core)."""

from flask import Blueprint, Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound

from webapp.fhir.errors import BASE_PATH, fhir_routing_error, register_fhir_error_handlers

bp = Blueprint("fhir", __name__, url_prefix=BASE_PATH)
register_fhir_error_handlers(bp)

from webapp.fhir import views  # noqa: E402,F401  (registers the routes)


def register_fhir(app: Flask) -> None:
    app.register_blueprint(bp)
    # An unknown path or method under the base matches no route, so no blueprint
    # handler sees it: these app-wide ones answer an OperationOutcome there only.
    app.register_error_handler(NotFound, fhir_routing_error)
    app.register_error_handler(MethodNotAllowed, fhir_routing_error)
