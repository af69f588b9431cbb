"""Request bodies of JSON endpoints: JSON media type, valid JSON, an object.

Checked before the handler for every operation that declares a JSON body,
so a wrong body always gets a 400 or 415 in the error format rather than
a 422 about missing fields, or a body silently read as empty.
"""

import json

from flask import current_app, request
from flask_babel import lazy_gettext as _l

from webapp.errors import MalformedRequest, UnsupportedMediaType

JSON_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
NOT_AN_OBJECT = _l("The request body must be a JSON object.")
BODY_REQUIRED = _l("This request needs a JSON body.")


def _operation_function(endpoint: str | None, method: str):
    view = current_app.view_functions.get(endpoint) if endpoint else None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return getattr(view_class, method.lower(), None)
    return view


def _json_body_parameter(endpoint: str | None, method: str) -> dict | None:
    """The operation's JSON body declaration (flask-smorest `arguments`, location json), if any."""
    operation = _operation_function(endpoint, method)
    parameters = getattr(operation, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    return next((parameter for parameter in parameters if parameter.get("in") == "json"), None)


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def check_json_body() -> None:
    """Refuse a non-JSON media type (415) and malformed or non-object JSON (400)."""
    if request.method not in JSON_BODY_METHODS:
        return
    declared = _json_body_parameter(request.endpoint, request.method)
    if declared is None:
        return
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
