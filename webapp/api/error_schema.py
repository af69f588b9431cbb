"""The shared error body of the API, for the OpenAPI document."""

import marshmallow as ma


class ApiErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "slot_unavailable"})
    message = ma.fields.String(required=True, metadata={"example": "This slot is no longer available."})
    fields = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()),
        metadata={"example": {"start": ["Not a valid datetime."]}},
    )


class ApiErrorSchema(ma.Schema):
    error = ma.fields.Nested(ApiErrorBodySchema, required=True)
