"""Marshmallow schemas of the notebook API (input and output kept apart)."""

import marshmallow as ma
from flask import current_app, url_for
from flask_smorest.fields import Upload
from marshmallow import validate

from webapp.accounts.identity_rules import BirthDate, PersonName
from webapp.api.pagination import PaginationQuerySchema, page_schema
from webapp.notebook.kinds import ENTRY_MEASUREMENT_TYPES, MEASUREMENT_TYPES
from webapp.notebook.models import AccessAction, EntryKind
from webapp.notebook.rules import (
    BODY_MAX,
    EMERGENCY_ALLOWED,
    EMERGENCY_LOCKED,
    MAX_DB_ID,
    REASON_MAX,
    TITLE_MAX,
)

_KINDS = [kind.value for kind in EntryKind]
_db_id = validate.Range(min=1, max=MAX_DB_ID)
_DATA_DESCRIPTION = (
    "Structured data of measurement `{type, value, unit, measured_at?}` (blood pressure: `{type: blood_pressure, "
    "systolic, diastolic, unit?: mmHg, measured_at?}`, whole numbers, systolic above diastolic), "
    "vaccination `{vaccine, lot?, date}`, "
    "allergy `{substance, reaction?, severity: mild|moderate|severe, status?: active|resolved}` and treatment "
    "`{drug, dosage, start, end?}` entries; other kinds take none. Measurement units: "
    + "; ".join(f"{name}: {', '.join(kind.units)}" for name, kind in MEASUREMENT_TYPES.items())
)


class EntryCreateSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(_KINDS), metadata={"example": "measurement"})
    title = ma.fields.String(load_default="", validate=validate.Length(max=TITLE_MAX), metadata={
        "description": "Required except for structured kinds (derived from data).", "example": ""})
    body = ma.fields.String(load_default="", validate=validate.Length(max=BODY_MAX),
                            metadata={"example": "Mesure prise au réveil, au repos."})
    appointment_id = ma.fields.Integer(load_default=None, allow_none=True, strict=True, validate=_db_id, metadata={
        "description": "The visit this entry was written in or after.", "example": None})
    data = ma.fields.Dict(load_default=None, allow_none=True, metadata={
        "description": _DATA_DESCRIPTION,
        "example": {"type": "blood_pressure", "systolic": 128, "diastolic": 82, "unit": "mmHg",
                    "measured_at": "2026-12-03T08:15:00+01:00"},
    })


class EntrySupersedeSchema(ma.Schema):
    title = ma.fields.String(load_default="", validate=validate.Length(max=TITLE_MAX),
                             metadata={"example": "Compte rendu de consultation (corrigé)"})
    body = ma.fields.String(load_default="", validate=validate.Length(max=BODY_MAX),
                            metadata={"example": "Tension artérielle stable, poursuite du traitement."})
    data = ma.fields.Dict(load_default=None, allow_none=True, metadata={
        "description": "Omit to keep the corrected entry's data.", "example": None})


class EntriesQuerySchema(PaginationQuerySchema):
    kind = ma.fields.String(validate=validate.OneOf(_KINDS), metadata={"example": "report"})


class AuthorSchema(ma.Schema):
    id = ma.fields.Integer(attribute="author_user_id", metadata={"example": 9})
    name = ma.fields.String(attribute="author_name", metadata={"example": "Dr Claire Martin"})
    role = ma.fields.String(attribute="author_role", metadata={"example": "practitioner"})


class AttachmentSchema(ma.Schema):
    id = ma.fields.String(metadata={"example": "3f9c2b7e5a1d4c08b6e2f0a9d7c41e55"})
    filename = ma.fields.String(attribute="original_filename", metadata={"example": "bilan-sanguin.pdf"})
    content_type = ma.fields.String(metadata={"example": "application/pdf"})
    size_bytes = ma.fields.Integer(metadata={"example": 184320})
    created_at = ma.fields.AwareDateTime(metadata={"example": "2026-12-03T10:02:11+00:00"})
    url = ma.fields.Method("_url", metadata={
        "type": "string",
        "example": "/api/v1/patients/40/notebook/entries/118/attachments/3f9c2b7e5a1d4c08b6e2f0a9d7c41e55",
    })

    def _url(self, attachment):
        entry = attachment.entry
        return url_for("notebook_api.attachment", patient_id=entry.patient_id, entry_id=entry.id,
                       attachment_id=attachment.id)


def shared_record_status(entry) -> str | None:
    """Asked of the optional shared-record connector, if the app has one (the notebook does not import it)."""
    lookup = current_app.extensions.get("notebook.shared_record_status")
    return lookup(entry.id) if lookup is not None else None


class EntrySchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 118})
    kind = ma.fields.String(metadata={"enum": _KINDS, "example": "report"})
    title = ma.fields.String(metadata={"example": "Compte rendu de consultation"})
    body = ma.fields.String(metadata={"example": "Tension artérielle stable, poursuite du traitement."})
    data = ma.fields.Dict(allow_none=True, metadata={"example": None})
    author = ma.fields.Function(lambda entry: AuthorSchema().dump(entry), metadata={
        "type": "object", "example": {"id": 9, "name": "Dr Claire Martin", "role": "practitioner"}})
    created_at = ma.fields.AwareDateTime(metadata={"example": "2026-12-03T10:00:00+00:00"})
    appointment_id = ma.fields.Integer(allow_none=True, metadata={"example": 311})
    supersedes = ma.fields.Integer(attribute="supersedes_id", allow_none=True, metadata={"example": None})
    superseded_by = ma.fields.Function(lambda entry: entry.superseded_by.id if entry.superseded_by else None,
                                       allow_none=True, metadata={"type": "integer", "example": None})
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema))
    dmp_status = ma.fields.Function(lambda entry: shared_record_status(entry), allow_none=True, metadata={
        "description": "Push status to the shared health record (pending, sent, failed, cancelled); "
                       "null while the connector is off or for an entry it does not push.",
        "example": None})


EntryPageSchema = page_schema(EntrySchema, "EntryPage")


class MeasurementsQuerySchema(ma.Schema):
    type = ma.fields.String(validate=validate.OneOf(ENTRY_MEASUREMENT_TYPES), metadata={
        "description": "A series; `blood_pressure` gives both the systolic and the diastolic series.",
        "example": "blood_pressure"})


class MeasurementSchema(ma.Schema):
    at = ma.fields.AwareDateTime(metadata={"example": "2026-12-03T08:15:00+01:00"})
    value = ma.fields.Float(metadata={"example": 128})
    unit = ma.fields.String(metadata={"example": "mmHg"})
    type = ma.fields.String(metadata={"example": "blood_pressure_systolic"})
    entry_id = ma.fields.Integer(metadata={"example": 117})


class MeasurementListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MeasurementSchema), required=True)


class ActorSchema(ma.Schema):
    id = ma.fields.Integer(attribute="actor_user_id")
    name = ma.fields.String(attribute="actor_name")
    role = ma.fields.String(attribute="actor_role")


class AccessLogItemSchema(ma.Schema):
    at = ma.fields.AwareDateTime(metadata={"example": "2026-12-03T10:05:42+00:00"})
    actor = ma.fields.Function(lambda item: ActorSchema().dump(item), metadata={
        "type": "object", "example": {"id": 9, "name": "Dr Claire Martin", "role": "practitioner"}})
    action = ma.fields.String(metadata={"enum": [action.value for action in AccessAction], "example": "view_entry"})
    entry_id = ma.fields.Integer(allow_none=True, metadata={"example": 118})
    emergency = ma.fields.Boolean(metadata={"example": False})


AccessLogPageSchema = page_schema(AccessLogItemSchema, "AccessLogPage")


_EMERGENCY_SETTINGS = [EMERGENCY_ALLOWED, EMERGENCY_LOCKED]


class SharingSchema(ma.Schema):
    revoked_practitioner_ids = ma.fields.List(ma.fields.Integer(strict=True, validate=_db_id), required=True,
                                              validate=validate.Length(max=500), metadata={"example": [7]})
    emergency_access = ma.fields.String(required=True, validate=validate.OneOf(_EMERGENCY_SETTINGS), metadata={
        "description": "`locked` refuses every emergency access to the notebook.", "example": EMERGENCY_ALLOWED})


class SharingUpdateSchema(ma.Schema):
    revoked_practitioner_ids = ma.fields.List(ma.fields.Integer(strict=True, validate=_db_id), required=True,
                                              validate=validate.Length(max=500), metadata={"example": [7]})
    emergency_access = ma.fields.String(load_default=None, validate=validate.OneOf(_EMERGENCY_SETTINGS), metadata={
        "description": "`locked` refuses every emergency access to the notebook; left out, unchanged.",
        "example": EMERGENCY_LOCKED})


class MaskingSchema(ma.Schema):
    hidden_from_practitioner_ids = ma.fields.List(ma.fields.Integer(strict=True, validate=_db_id), required=True,
                                                  validate=validate.Length(max=500), metadata={"example": [7]})


class EmergencyRequestSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=REASON_MAX), metadata={
        "description": "Why the notebook must be opened now; the patient reads it.",
        "example": "Patiente inconsciente aux urgences, recherche d'allergies et de traitements en cours"})
    first_name = PersonName(required=True, metadata={
        "description": "The patient's first name (case, accents, hyphens and apostrophes ignored).",
        "example": "Jeanne"})
    last_name = PersonName(required=True, metadata={"example": "Martin-Dupré"})
    birth_date = BirthDate(required=True, metadata={"example": "1950-04-12"})
    totp = ma.fields.String(required=True, validate=validate.Length(max=10), metadata={
        "description": "A current code of the practitioner's authenticator app (re-authentication); a code "
                       "that already opened a login or an action is refused like a wrong one.",
        "example": "492039"})


class EmergencyGrantSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 3})
    patient_id = ma.fields.Integer(metadata={"example": 40})
    granted_at = ma.fields.AwareDateTime(metadata={"example": "2026-12-03T22:10:00+00:00"})
    expires_at = ma.fields.AwareDateTime(metadata={"example": "2026-12-04T02:10:00+00:00"})


class ExportQuerySchema(ma.Schema):
    format = ma.fields.String(load_default="fhir", validate=validate.OneOf(["fhir", "pdf"]),
                              metadata={"example": "fhir"})


class AttachmentUploadSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "A PDF, PNG or JPEG file (type read from its content)."})
