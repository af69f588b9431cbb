"""Marshmallow schemas of the shared-record API (input and output kept apart)."""

import marshmallow as ma
from marshmallow import validate

from webapp.api.fields import JsonBoolean
from webapp.api.pagination import PaginationQuerySchema, page_schema
from webapp.dmp.models import IdentityStatus, PushStatus

_STATUSES = [status.value for status in IdentityStatus]
_PUSH_STATUSES = [status.value for status in PushStatus]


class IdentityInputSchema(ma.Schema):
    ins = ma.fields.String(required=True, validate=validate.Length(min=1, max=30), metadata={
        "description": "The NIR (15 characters, 2A/2B for Corsica), spaces allowed.", "example": "295109912611193"})
    status = ma.fields.String(required=True, validate=validate.OneOf(_STATUSES), metadata={
        "description": "`provisional` (the patient side, or a professional without an ID check) or `validated` "
                       "(a treating practitioner or clinic secretary who checked an ID document). `recovered` and "
                       "`qualified` come only from an INSi answer: asked by a person they are refused (403 "
                       "`insi_answer_required`, `qualification_not_allowed` for the patient side).",
        "example": "provisional"})


class IdentitySchema(ma.Schema):
    ins = ma.fields.String(metadata={"example": "295109912611193"})
    status = ma.fields.String(metadata={"description": "provisional, recovered, validated or qualified (RNIV)",
                                        "example": "provisional"})
    recorded_at = ma.fields.AwareDateTime(metadata={"example": "2026-11-23T10:00:00+00:00"})
    recorded_by = ma.fields.Integer(attribute="recorded_by_user_id", metadata={"example": 12})


class ConsentInputSchema(ma.Schema):
    consent = JsonBoolean(required=True, metadata={"example": True})


class ConsentSchema(ma.Schema):
    consent = ma.fields.Boolean(metadata={"example": True})
    recorded_at = ma.fields.AwareDateTime(metadata={"example": "2026-11-23T10:00:00+00:00"})
    recorded_by = ma.fields.Integer(attribute="actor_user_id", metadata={"example": 12})


class PushesQuerySchema(PaginationQuerySchema):
    status = ma.fields.String(validate=validate.OneOf(_PUSH_STATUSES), metadata={"example": "failed"})


class PushSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 3})
    entry_id = ma.fields.Integer(metadata={"example": 41})
    patient_id = ma.fields.Integer(metadata={"example": 7})
    document_id = ma.fields.String(metadata={"example": "urn:uuid:1c0e8c55-8d38-4d8e-9a47-5bd9a4a1f2b0"})
    replaces_document_id = ma.fields.String(allow_none=True, metadata={"example": None})
    status = ma.fields.String(metadata={"example": "failed"})
    attempts = ma.fields.Integer(metadata={"example": 1})
    next_attempt_at = ma.fields.AwareDateTime(metadata={"example": "2026-11-23T10:05:00+00:00"})
    last_attempt_at = ma.fields.AwareDateTime(allow_none=True, metadata={"example": "2026-11-23T10:00:00+00:00"})
    sent_at = ma.fields.AwareDateTime(allow_none=True, metadata={"example": None})
    last_error = ma.fields.String(allow_none=True, metadata={"example": "HTTP 400"})
    operation_outcome = ma.fields.String(allow_none=True, metadata={
        "description": "The recipient's OperationOutcome for a refused document, as received.",
        "example": '{"resourceType": "OperationOutcome", "issue": []}'})


PushPageSchema = page_schema(PushSchema, "DmpPushPage")
