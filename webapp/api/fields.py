"""Marshmallow fields for JSON request bodies."""

import marshmallow as ma


class JsonBoolean(ma.fields.Boolean):
    """A JSON boolean: `true` or `false`, never 0, 1 or "yes".

    The contract says boolean; marshmallow's own field also takes truthy
    strings and numbers, which would let a client's type bug pass silently.
    """

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value
