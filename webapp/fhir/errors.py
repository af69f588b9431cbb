"""FHIR errors: every failure under /fhir/r4 is an OperationOutcome with its HTTP status, never a page."""

import logging

from flask import Blueprint, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from webapp.errors import HTTP_ERRORS, CarnetError, handle_http_exception
from webapp.extensions import db
from webapp.fhir.responses import fhir_response

log = logging.getLogger(__name__)

# The OperationOutcome issue type (http://hl7.org/fhir/issue-type) of each HTTP status.
ISSUE_TYPES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
               409: "conflict", 413: "too-long", 422: "invalid", 429: "throttled"}
UNEXPECTED = _l("An unexpected error occurred.")
NOT_SERVED = _l("This resource or interaction is not served.")
BASE_PATH = "/fhir/r4"


class FhirError(CarnetError):
    """A refused FHIR request: its status, its issue type and a message (in the caller's language)."""

    status = 400
    code = "invalid"

    def __init__(self, message, *, status: int | None = None, code: str | None = None):
        super().__init__(message, code=code)
        if status is not None:
            self.status = status


def operation_outcome(code: str, message: str, severity: str = "error") -> dict:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "details": {"text": message}}]}


def _outcome_response(status: int, code: str, message: str, headers=None):
    return fhir_response(operation_outcome(code, message, "fatal" if status >= 500 else "error"), status,
                         headers=headers)


def _carnet_error(error: CarnetError):
    db.session.rollback()
    code = error.code if isinstance(error, FhirError) else ISSUE_TYPES.get(error.status, "processing")
    return _outcome_response(error.status, code, error.message)


def _http_error(error: HTTPException):
    db.session.rollback()
    headers = dict((getattr(error, "data", None) or {}).get("headers") or {})
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    message = str(HTTP_ERRORS[error.code][1]) if error.code in HTTP_ERRORS else error.description or error.name
    return _outcome_response(error.code, ISSUE_TYPES.get(error.code, "processing"), message, headers)


def fhir_routing_error(error: HTTPException):
    """A 404 or 405 of the router: an OperationOutcome under the FHIR base, the app's usual answer elsewhere."""
    if request.path != BASE_PATH and not request.path.startswith(BASE_PATH + "/"):
        return handle_http_exception(error)
    if error.code == 404:
        db.session.rollback()
        return _outcome_response(404, "not-supported", str(NOT_SERVED))
    return _http_error(error)


def _unexpected_error(error: Exception):
    db.session.rollback()
    log.exception("unhandled error in the FHIR API")
    return _outcome_response(500, "exception", str(UNEXPECTED))


def register_fhir_error_handlers(bp: Blueprint) -> None:
    """The blueprint's own handlers win over the app's JSON and page ones for its routes."""
    bp.register_error_handler(CarnetError, _carnet_error)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(Exception, _unexpected_error)
