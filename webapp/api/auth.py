"""Bearer-token authentication and error documentation for API operations."""

import functools

from flask import g, request
from flask_smorest import Blueprint

from webapp.api.error_schema import ApiErrorSchema
from webapp.errors import Forbidden, NotAuthenticated
from webapp.extensions import db

BEARER_SECURITY = [{"bearerAuth": []}]


ERROR_RESPONSES = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict with the current state",
    422: "Invalid fields",
    429: "Rate limited",
}


def documented_errors(*statuses: int):
    """Document error responses of an operation with the shared error schema."""
    return Blueprint.doc(responses={
        str(status): {
            "description": ERROR_RESPONSES[status],
            "content": {"application/json": {"schema": ApiErrorSchema}},
        }
        for status in statuses
    })


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_api_user():
    return g.api_user


def bearer_required(*roles):
    """Require a valid bearer token (and one of `roles`, if given).

    Authorization of the resource itself is the service's job; this only
    authenticates and refuses roles that have no business on the endpoint.
    """
    from webapp.accounts.services import authenticate_api_token

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            raw = _bearer_token()
            if raw is None:
                raise NotAuthenticated()
            try:
                token = authenticate_api_token(raw)
            finally:
                # Persists last_used_at, or the audit of a refused token,
                # before the handler's own unit of work.
                db.session.commit()
            user = token.user
            if roles and user.role not in roles:
                raise Forbidden()
            g.api_user, g.api_token = user, token
            return view(*args, **kwargs)

        statuses = (401, 403) if roles else (401,)
        return documented_errors(*statuses)(Blueprint.doc(security=BEARER_SECURITY)(wrapper))

    return decorator
