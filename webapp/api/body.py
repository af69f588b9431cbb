"""Request bodies: JSON media type, valid JSON, an object; uploads carry their files only.

Checked before the handler for every operation that declares a JSON body,
so a wrong body always gets a 400 or 415 in the error format rather than
a 422 about missing fields, or a body silently read as empty; and for every
upload, where a stray form field is refused as an unknown JSON field is.
"""

import json

from flask import current_app, request
from flask_babel import lazy_gettext as _l

from webapp.errors import InvalidInput, MalformedRequest, UnsupportedMediaType

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
NOT_AN_OBJECT = _l("The request body must be a JSON object.")
BODY_REQUIRED = _l("This request needs a JSON body.")
UNKNOWN_FIELD = _l("Unknown field.")


def _operation_function(endpoint: str | None, method: str):
    view = current_app.view_functions.get(endpoint) if endpoint else None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return getattr(view_class, method.lower(), None)
    return view


def _body_parameter(location: str) -> dict | None:
    """The operation's body declaration (flask-smorest `arguments`) at `location` (json, files), if any."""
    operation = _operation_function(request.endpoint, request.method)
    parameters = getattr(operation, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return next((parameter for parameter in parameters if parameter.get("in") == location), None)


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def check_request_body() -> None:
    if request.method not in BODY_METHODS:
        return
    json_body = _body_parameter("json")
    if json_body is not None:
        _check_json_body(json_body)
    elif _body_parameter("files") is not None and request.form:
        raise InvalidInput(fields={name: [str(UNKNOWN_FIELD)] for name in request.form})


def _check_json_body(declared: dict) -> None:
    """Refuse a missing required body or malformed or non-object JSON (400), a non-JSON media type (415)."""
    if not request.mimetype and not _has_body():
        if declared.get("required", True):
            raise MalformedRequest(BODY_REQUIRED)
        return
    if not request.is_json:
        raise UnsupportedMediaType()
    if not _has_body():
        return
    raw = request.get_data(cache=True)  # reading enforces MAX_CONTENT_LENGTH (413)
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except ValueError:  # also UnicodeDecodeError
        raise MalformedRequest() from None
    if not isinstance(body, dict):
        raise MalformedRequest(NOT_AN_OBJECT)
