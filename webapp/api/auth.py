"""Bearer-token authentication and error documentation for API operations."""

import functools
from collections.abc import Callable

from flask import Flask, current_app, g, request
from flask_smorest import Blueprint

from webapp.api.error_schema import ApiErrorSchema
from webapp.errors import Forbidden, NotAuthenticated
from webapp.extensions import db
from webapp.transaction import transaction

BEARER_SECURITY = [{"bearerAuth": []}]

# status: (description, example code, example message)
ERROR_RESPONSES = {
    400: ("Malformed request", "malformed_request", "The request body is not valid JSON."),
    401: ("Not authenticated", "invalid_token", "The access token is missing, expired or revoked."),
    403: ("Not allowed", "forbidden", "You are not allowed to do this."),
    404: ("Not found", "not_found", "Not found."),
    409: ("Conflict with the current state", "conflict", "This conflicts with the current state."),
    413: ("Request body too large", "payload_too_large", "The request body is too large."),
    415: ("Request body is not JSON", "unsupported_media_type",
          "Send the request body as JSON, with the header Content-Type: application/json."),
    422: ("Invalid fields", "validation_error", "Some fields are not valid."),
    429: ("Rate limited", "rate_limited", "Too many requests; try again later."),
    503: ("An outside service is unavailable", "service_unavailable",
          "An outside service needed for this could not answer; try again later."),
}


def error_response_doc(status: int, schema=ApiErrorSchema) -> dict:
    """The OpenAPI response object of an error status, with an example body."""
    description, code, message = ERROR_RESPONSES[status]
    example = {"error": {"code": code, "message": message}}
    if status == 422:
        example["error"]["fields"] = {"birth_date": ["Not a valid date."]}
    response = {"description": description,
                "content": {"application/json": {"schema": schema, "example": example}}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string", "example": "Bearer"}}}
    return response


def documented_errors(*statuses: int):
    """Document error responses of an operation with the shared error schema."""
    return Blueprint.doc(responses={str(status): error_response_doc(status) for status in statuses})


def public_endpoint(view):
    """Mark an operation that needs no authentication (its security is explicitly empty)."""
    return Blueprint.doc(security=[])(view)


# The feature that owns API tokens (accounts) registers how a raw bearer value
# becomes its token row, so that this shared layer imports no feature.
_AUTHENTICATOR = "carnet_token_authenticator"


def register_token_authenticator(app: Flask, authenticate: Callable[[str], object]) -> None:
    """Set what `bearer_required` calls with the raw bearer value: it returns
    the token (with its `.user`) or raises a `CarnetError`. It writes through
    the session's objects without flushing: `bearer_required` commits only a
    session that holds changes."""
    app.extensions[_AUTHENTICATOR] = authenticate


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authenticate(raw: str):
    """The token of `raw`, from the registered authenticator.

    What it writes is its own unit of work, committed at once: the token's
    last use (recorded once a minute) is kept whatever the handler then does,
    and a refused token's audit row is kept because the refusal declares
    `keeps_writes` (any other error writes nothing). A lookup that wrote
    nothing is not committed: the handler goes on in the transaction that
    read the token, with the token and its user still loaded. Committing
    every time cost a COMMIT and, since a commit expires what it loaded, a
    second SELECT of the token and its user in every request. Measured with
    `python -m bench.api_layer --reused-tokens` (two runs each, busy 2-core
    machine, 2026-12-05), CPU of the API layer per booking, this change
    alone: SQLite 1.73-1.75 -> 1.30-1.32 ms, PostgreSQL 2.21-2.56 ->
    1.62-1.83 ms; statements 18 -> 17, commits 2 -> 1.
    """
    try:
        token = current_app.extensions[_AUTHENTICATOR](raw)
    except BaseException:
        with transaction():
            raise  # committed or rolled back by `transaction`'s own rule
    session = db.session()
    if session.new or session.dirty or session.deleted:
        # The token and its user were read in the transaction being committed:
        # they stay loaded rather than expire, and are not read again (B2, whose
        # API bookings each use a new token: 19 -> 18 statements a booking).
        expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = expire_on_commit
    return token


def current_api_user():
    return g.api_user


def current_api_token():
    """The `ApiToken` row that authenticated this request."""
    return g.api_token


def bearer_required(*roles):
    """Require a valid bearer token (and one of `roles`, if given).

    Authorization of the resource itself is the service's job; this only
    authenticates and refuses roles that have no business on the endpoint.
    """
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            raw = _bearer_token()
            if raw is None:
                raise NotAuthenticated()
            token = _authenticate(raw)
            user = token.user
            if roles and user.role not in roles:
                raise Forbidden()
            g.api_user, g.api_token = user, token
            return view(*args, **kwargs)

        statuses = (401, 403) if roles else (401,)
        return documented_errors(*statuses)(Blueprint.doc(security=BEARER_SECURITY)(wrapper))

    return decorator
