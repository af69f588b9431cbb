"""Marshmallow schemas of the notebook API (input and output kept apart)."""

import marshmallow as ma
from flask import current_app, url_for
from flask_smorest.fields import Upload
from marshmallow import validate

from webapp.api.pagination import PaginationQuerySchema, page_schema
from webapp.notebook.kinds import MEASUREMENT_TYPES
from webapp.notebook.models import AccessAction, EntryKind
from webapp.notebook.services import BODY_MAX, MAX_DB_ID, REASON_MAX, TITLE_MAX

_KINDS = [kind.value for kind in EntryKind]
_db_id = validate.Range(min=1, max=MAX_DB_ID)
_DATA_DESCRIPTION = (
    "Structured data of measurement `{type, value, unit, measured_at?}`, vaccination `{vaccine, lot?, date}`, "
    "allergy `{substance, reaction?, severity: mild|moderate|severe, status?: active|resolved}` and treatment "
    "`{drug, dosage, start, end?}` entries; other kinds take none. Measurement units: "
    + "; ".join(f"{name}: {', '.join(kind.units)}" for name, kind in MEASUREMENT_TYPES.items())
)


class EntryCreateSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(_KINDS))
    title = ma.fields.String(load_default="", validate=validate.Length(max=TITLE_MAX),
                             metadata={"description": "Required except for structured kinds (derived from data)."})
    body = ma.fields.String(load_default="", validate=validate.Length(max=BODY_MAX))
    appointment_id = ma.fields.Integer(load_default=None, allow_none=True, strict=True, validate=_db_id,
                                       metadata={"description": "The visit this entry was written in or after."})
    data = ma.fields.Dict(load_default=None, allow_none=True, metadata={"description": _DATA_DESCRIPTION})


class EntrySupersedeSchema(ma.Schema):
    title = ma.fields.String(load_default="", validate=validate.Length(max=TITLE_MAX))
    body = ma.fields.String(load_default="", validate=validate.Length(max=BODY_MAX))
    data = ma.fields.Dict(load_default=None, allow_none=True,
                          metadata={"description": "Omit to keep the corrected entry's data."})


class EntriesQuerySchema(PaginationQuerySchema):
    kind = ma.fields.String(validate=validate.OneOf(_KINDS))


class AuthorSchema(ma.Schema):
    id = ma.fields.Integer(attribute="author_user_id")
    name = ma.fields.String(attribute="author_name")
    role = ma.fields.String(attribute="author_role")


class AttachmentSchema(ma.Schema):
    id = ma.fields.String()
    filename = ma.fields.String(attribute="original_filename")
    content_type = ma.fields.String()
    size_bytes = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    url = ma.fields.Method("_url")

    def _url(self, attachment):
        entry = attachment.entry
        return url_for("notebook_api.attachment", patient_id=entry.patient_id, entry_id=entry.id,
                       attachment_id=attachment.id)


def shared_record_status(entry) -> str | None:
    """Asked of the optional shared-record connector, if the app has one (the notebook does not import it)."""
    lookup = current_app.extensions.get("notebook.shared_record_status")
    return lookup(entry.id) if lookup is not None else None


class EntrySchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    data = ma.fields.Dict(allow_none=True)
    author = ma.fields.Function(lambda entry: AuthorSchema().dump(entry))
    created_at = ma.fields.AwareDateTime()
    appointment_id = ma.fields.Integer(allow_none=True)
    supersedes = ma.fields.Integer(attribute="supersedes_id", allow_none=True)
    superseded_by = ma.fields.Function(lambda entry: entry.superseded_by.id if entry.superseded_by else None,
                                       allow_none=True)
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema))
    dmp_status = ma.fields.Function(lambda entry: shared_record_status(entry), allow_none=True, metadata={
        "description": "Push status to the shared health record (pending, sent, failed, cancelled); "
                       "null while the connector is off or for an entry it does not push."})


EntryPageSchema = page_schema(EntrySchema, "EntryPage")


class MeasurementsQuerySchema(ma.Schema):
    type = ma.fields.String(validate=validate.OneOf(list(MEASUREMENT_TYPES)))


class MeasurementSchema(ma.Schema):
    at = ma.fields.AwareDateTime()
    value = ma.fields.Float()
    unit = ma.fields.String()
    type = ma.fields.String()
    entry_id = ma.fields.Integer()


class MeasurementListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MeasurementSchema), required=True)


class ActorSchema(ma.Schema):
    id = ma.fields.Integer(attribute="actor_user_id")
    name = ma.fields.String(attribute="actor_name")
    role = ma.fields.String(attribute="actor_role")


class AccessLogItemSchema(ma.Schema):
    at = ma.fields.AwareDateTime()
    actor = ma.fields.Function(lambda item: ActorSchema().dump(item))
    action = ma.fields.String(metadata={"description": ", ".join(action.value for action in AccessAction)})
    entry_id = ma.fields.Integer(allow_none=True)
    emergency = ma.fields.Boolean()


AccessLogPageSchema = page_schema(AccessLogItemSchema, "AccessLogPage")


class SharingSchema(ma.Schema):
    revoked_practitioner_ids = ma.fields.List(ma.fields.Integer(strict=True, validate=_db_id), required=True,
                                              validate=validate.Length(max=500))


class MaskingSchema(ma.Schema):
    hidden_from_practitioner_ids = ma.fields.List(ma.fields.Integer(strict=True, validate=_db_id), required=True,
                                                  validate=validate.Length(max=500))


class EmergencyRequestSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=REASON_MAX))


class EmergencyGrantSchema(ma.Schema):
    id = ma.fields.Integer()
    patient_id = ma.fields.Integer()
    granted_at = ma.fields.AwareDateTime()
    expires_at = ma.fields.AwareDateTime()


class ExportQuerySchema(ma.Schema):
    format = ma.fields.String(load_default="fhir", validate=validate.OneOf(["fhir", "pdf"]))


class AttachmentUploadSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "A PDF, PNG or JPEG file (type read from its content)."})
