"""Domain errors and the one error format of the app.

Services raise `CarnetError` subclasses; the API renders them as
`{"error": {"code", "message", "fields"}}` with their status, pages as a
message. Every HTTP error under `/api/` gets the same JSON body; pages get
the error page, in the visitor's language (werkzeug's descriptions are English).
"""

import logging
import math
import time

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.extensions import db, limiter

log = logging.getLogger(__name__)


class CarnetError(Exception):
    status = 400
    code = "bad_request"
    default_message = _l("The request is not valid.")
    keeps_writes = False

    def __init__(self, message=None, *, code: str | None = None, fields: dict | None = None):
        self.message = str(message or self.default_message)
        if code:
            self.code = code
        self.fields = fields or {}
        super().__init__(self.message)


class NotAuthenticated(CarnetError):
    status = 401
    code = "not_authenticated"
    default_message = _l("Authentication is required.")


class Forbidden(CarnetError):
    status = 403
    code = "forbidden"
    default_message = _l("You are not allowed to do this.")


class NotFound(CarnetError):
    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class Conflict(CarnetError):
    status = 409
    code = "conflict"
    default_message = _l("This conflicts with the current state.")


class InvalidInput(CarnetError):
    status = 422
    code = "validation_error"
    default_message = _l("Some fields are not valid.")


class MalformedRequest(CarnetError):
    status = 400
    code = "malformed_request"
    default_message = _l("The request body is not valid JSON.")


class UnsupportedMediaType(CarnetError):
    status = 415
    code = "unsupported_media_type"
    default_message = _l("Send the request body as JSON, with the header Content-Type: application/json.")


TOO_MANY_REQUESTS_MESSAGE = _l("Too many attempts in a short time. Wait a minute, then try again.")

# The API's own words for the HTTP errors that werkzeug raises, keyed by status.
HTTP_ERRORS = {
    400: ("malformed_request", MalformedRequest.default_message),
    404: ("not_found", NotFound.default_message),
    405: ("method_not_allowed", _l("This method is not allowed on this resource.")),
    413: ("payload_too_large", _l("The request body is too large.")),
    415: ("unsupported_media_type", UnsupportedMediaType.default_message),
    429: ("rate_limited", _l("Too many requests; try again later.")),
}


# The error page's heading and message for each status (pages only; the API keeps HTTP_ERRORS).
PAGE_ERRORS = {
    400: (_l("Invalid request"), _l("The request could not be understood. Go back and try again.")),
    401: (_l("Login required"), _l("Log in to open this page.")),
    403: (_l("Access refused"), _l("You are not allowed to open this page.")),
    404: (_l("Page not found"), _l("This page does not exist or is no longer available. Check the address, "
                                   "or start again from the home page.")),
    405: (_l("Action not possible"), _l("This page cannot be used this way. Go back and try again.")),
    409: (_l("Action not possible"), Conflict.default_message),
    413: (_l("File too large"), _l("What you sent is too large. Send a smaller file, within the size shown "
                                  "next to the field.")),
    422: (_l("Invalid request"), InvalidInput.default_message),
    429: (_l("Too many attempts"), TOO_MANY_REQUESTS_MESSAGE),
    500: (_l("Unexpected error"), _l("Something went wrong on our side. Try again in a moment.")),
}
OTHER_PAGE_ERROR = (_l("Error"), _l("The request could not be completed. Go back and try again."))
CSRF_PAGE_MESSAGE = _l("This form has expired or was sent from another page. Reload the page and try again.")


def error_page(status: int, message=None):
    """The error page of `status`: its heading, and `message` or the status's own."""
    title, default_message = PAGE_ERRORS.get(status, OTHER_PAGE_ERROR)
    return render_template("error.html", status=status, title=str(title),
                           message=str(message or default_message)), status


def is_api_request() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/billing/stripe/")


def error_response(status: int, code: str, message: str, fields: dict | None = None, headers=None):
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _field_paths(messages: dict, prefix: str = "") -> dict:
    """marshmallow nests the messages of lists and nested objects
    (`{"weekly": {"2": {"start": [...]}}}`); the API names each field by its
    dotted path (`"weekly.2.start"`) so `fields` is always name -> messages."""
    fields: dict = {}
    for name, value in messages.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            fields.update(_field_paths(value, f"{path}."))
        else:
            fields.setdefault(path, []).extend(value if isinstance(value, list) else [value])
    return fields


def _flatten_webargs_messages(messages: dict) -> dict:
    """webargs nests messages by location (json, query, ...); the API does not."""
    fields: dict = {}
    for location_messages in messages.values():
        if isinstance(location_messages, dict):
            fields.update(_field_paths(location_messages))
        else:
            fields.setdefault("_request", []).extend(location_messages)
    return fields


def _http_error_code(error: HTTPException) -> str:
    return error.name.lower().replace(" ", "_").replace("'", "")


def handle_carnet_error(error: CarnetError):
    db.session.rollback()
    if is_api_request():
        return error_response(error.status, error.code, error.message, error.fields)
    return error_page(error.status, error.message)


def handle_http_exception(error: HTTPException):
    db.session.rollback()
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    if not is_api_request():
        return error_page(error.code, CSRF_PAGE_MESSAGE if isinstance(error, CSRFError) else None)
    if error.code == 422 and "messages" in data:
        return error_response(
            422, "validation_error", str(InvalidInput.default_message),
            _flatten_webargs_messages(data["messages"]),
        )
    if error.code == 429:
        headers.setdefault("Retry-After", str(_seconds_until_rate_limit_reset()))
    code, message = HTTP_ERRORS.get(error.code, (_http_error_code(error), error.description))
    return error_response(error.code, code, str(message), headers=headers)


def _seconds_until_rate_limit_reset() -> int:
    limit = limiter.current_limit
    return max(1, math.ceil(limit.reset_at - time.time())) if limit else 60


def handle_unexpected_error(error: Exception):
    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.path)
    if is_api_request():
        return error_response(500, "internal_error", str(_l("An unexpected error occurred.")))
    return error_page(500)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(CarnetError, handle_carnet_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected_error)
