"""A JSON answer serialised where the handler stands: inside its unit of work.

flask-smorest dumps what a handler returns only after the handler has
returned, that is after `with transaction():` has committed; the commit
expires every loaded row, so that dump would read them again in a second,
implicit transaction (and could show another request's writes). A handler
that writes therefore returns `answer(Schema, result)` from inside its
`with transaction():` block; smorest passes a ready response through as it is.
"""

from flask import Response, jsonify

from webapp.api.blueprint import shared_schema


def answer(schema, value, status: int = 200, headers: dict | None = None) -> Response:
    """`value` dumped with `schema` now, as the JSON body of a `status` response.
    A schema class is used through its one shared instance (webapp.api.blueprint)."""
    if isinstance(schema, type):
        schema = shared_schema(schema)
    response = jsonify(schema.dump(value))
    response.status_code = status
    response.headers.update(headers or {})
    return response
