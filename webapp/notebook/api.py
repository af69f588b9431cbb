"""Notebook API: entries, corrections, files, measurements, access log, sharing, masking, emergency access, export.

Every operation asks the services, which answer 404 to anyone who may not
see the notebook. Results are serialised inside the unit of work, so what
the service loaded (in a constant number of queries) is what gets dumped.
"""

import io

from flask import current_app, jsonify, send_file
from flask.views import MethodView

from webapp.accounts.models import Role
from webapp.accounts.sessions import reauth_required
from webapp.api.auth import bearer_required, current_api_user, documented_errors
from webapp.api.blueprint import Blueprint
from webapp.crypto import decrypt
from webapp.notebook import controls, emergency, exports, masking, reading, schemas, writing
from webapp.notebook.measurements import measurements_json
from webapp.transaction import transaction

blp = Blueprint("notebook_api", __name__, url_prefix="/api/v1", description="Health notebook")

NOTEBOOK = "/patients/<int:patient_id>/notebook"
PRIVATE_HEADERS = {"Cache-Control": "private, no-store"}


def _json(schema, value, status: int = 200):
    # Dumped here, inside the caller's transaction: after the commit, reading a relation
    # would open a second, implicit transaction (and on PostgreSQL a second snapshot).
    response = jsonify(schema.dump(value))
    response.status_code = status
    response.headers.update(PRIVATE_HEADERS)
    return response


@blp.route(f"{NOTEBOOK}/entries", endpoint="entries")
class EntriesView(MethodView):
    @bearer_required()
    @blp.arguments(schemas.EntriesQuerySchema, location="query")
    @blp.response(200, schemas.EntryPageSchema)
    @documented_errors(404, 422)
    def get(self, query, patient_id):
        """The entries the caller may see, newest first (`kind` filters)."""
        with transaction():
            result = reading.list_entries(current_api_user(), patient_id, **query)
            return _json(schemas.EntryPageSchema(), result)

    @bearer_required()
    @blp.arguments(schemas.EntryCreateSchema)
    @blp.response(201, schemas.EntrySchema)
    @documented_errors(404, 422)
    def post(self, data, patient_id):
        """Append an entry (patient side, or a treating practitioner)."""
        with transaction():
            entry = writing.add_entry(current_api_user(), patient_id, **data)
            return _json(schemas.EntrySchema(), entry, 201)


@blp.route(f"{NOTEBOOK}/entries/<int:entry_id>")
@bearer_required()
@blp.response(200, schemas.EntrySchema)
@documented_errors(404)
def entry(patient_id, entry_id):
    """One entry."""
    with transaction():
        return _json(schemas.EntrySchema(), reading.get_entry(current_api_user(), patient_id, entry_id))


@blp.route(f"{NOTEBOOK}/entries/<int:entry_id>/supersede", methods=["POST"])
@bearer_required()
@blp.arguments(schemas.EntrySupersedeSchema)
@blp.response(201, schemas.EntrySchema)
@documented_errors(404, 409, 422)
def supersede(data, patient_id, entry_id):
    """Correct an entry: a new entry linked to the old one, which stays readable."""
    with transaction():
        new_entry = writing.supersede_entry(current_api_user(), patient_id, entry_id, **data)
        return _json(schemas.EntrySchema(), new_entry, 201)


@blp.route(f"{NOTEBOOK}/entries/<int:entry_id>/attachments", methods=["POST"])
@bearer_required()
@blp.arguments(schemas.AttachmentUploadSchema, location="files")
@blp.response(201, schemas.AttachmentSchema)
@documented_errors(404, 409, 422)
def add_attachment(files, patient_id, entry_id):
    """Attach a PDF, PNG or JPEG file to an entry (its author's side only)."""
    upload = files["file"]
    with transaction():
        attachment = writing.add_attachment(current_api_user(), patient_id, entry_id,
                                              filename=upload.filename, content=upload.read())
        return _json(schemas.AttachmentSchema(), attachment, 201)


@blp.route(f"{NOTEBOOK}/entries/<int:entry_id>/attachments/<attachment_id>")
@bearer_required()
@blp.response(200, content_type="application/octet-stream", description="The file, with its content type")
@documented_errors(404)
def attachment(patient_id, entry_id, attachment_id):
    """Download a file of an entry."""
    with transaction():
        item = reading.get_attachment(current_api_user(), patient_id, entry_id, attachment_id)
        return attachment_response(item)


def attachment_response(item):
    """The decrypted file, always as a download, never cached."""
    response = send_file(io.BytesIO(decrypt(item.content)), mimetype=item.content_type, as_attachment=True,
                         download_name=item.original_filename)
    response.headers.update(PRIVATE_HEADERS)
    return response


@blp.route("/patients/<int:patient_id>/measurements")
@bearer_required()
@blp.arguments(schemas.MeasurementsQuerySchema, location="query")
@blp.response(200, schemas.MeasurementListSchema)
@documented_errors(404, 422)
def measurements(query, patient_id):
    """Current measurements, oldest first (`type` filters)."""
    with transaction():
        points = measurements_json(current_api_user(), patient_id, measurement_type=query.get("type"))
    # Written around the stored encoding of the points, which is sent as it is (`measurements_json`).
    response = current_app.response_class(b'{"items":' + points + b"}\n", mimetype="application/json")
    response.headers.update(PRIVATE_HEADERS)
    return response


@blp.route(f"{NOTEBOOK}/access-log")
@bearer_required()
@blp.arguments(schemas.PaginationQuerySchema, location="query")
@blp.response(200, schemas.AccessLogPageSchema)
@documented_errors(403, 404)
def access_log(query, patient_id):
    """Who read or wrote the notebook, newest first (patient side only)."""
    with transaction():
        return _json(schemas.AccessLogPageSchema(), controls.list_access_log(current_api_user(), patient_id, **query))


@blp.route(f"{NOTEBOOK}/sharing", endpoint="sharing")
class SharingView(MethodView):
    @bearer_required()
    @blp.response(200, schemas.SharingSchema)
    @documented_errors(403, 404)
    def get(self, patient_id):
        """The practitioners revoked from the notebook, and whether emergency access is locked (patient side only)."""
        with transaction():
            return controls.get_sharing(current_api_user(), patient_id)

    @bearer_required()
    @blp.arguments(schemas.SharingUpdateSchema)
    @blp.response(200, schemas.SharingSchema)
    @documented_errors(403, 404, 422)
    def put(self, data, patient_id):
        """Replace the revoked practitioners and, if given, lock or allow emergency access (patient side only)."""
        with transaction():
            return controls.set_sharing(current_api_user(), patient_id, data["revoked_practitioner_ids"],
                                        emergency_access=data["emergency_access"])


@blp.route(f"{NOTEBOOK}/entries/<int:entry_id>/masking", endpoint="masking")
class MaskingView(MethodView):
    @bearer_required()
    @blp.response(200, schemas.MaskingSchema)
    @documented_errors(403, 404)
    def get(self, patient_id, entry_id):
        """The practitioners this entry is hidden from (patient side only)."""
        with transaction():
            entry = masking.get_masking(current_api_user(), patient_id, entry_id)
            return _json(schemas.MaskingSchema(), entry)

    @bearer_required()
    @blp.arguments(schemas.MaskingSchema)
    @blp.response(200, schemas.MaskingSchema)
    @documented_errors(403, 404, 422)
    def put(self, data, patient_id, entry_id):
        """Replace the practitioners this entry is hidden from (patient side only)."""
        with transaction():
            entry = masking.set_masking(current_api_user(), patient_id, entry_id,
                                        data["hidden_from_practitioner_ids"])
            return _json(schemas.MaskingSchema(), entry)


@blp.route(f"{NOTEBOOK}/emergency-access", methods=["POST"])
@bearer_required(Role.PRACTITIONER)
@blp.arguments(schemas.EmergencyRequestSchema)
@blp.response(201, schemas.EmergencyGrantSchema)
@documented_errors(404, 409, 422, 429)
def emergency_access(data, patient_id):
    """Open the notebook in an emergency ("bris de glace"): read-only, time-limited, logged, the patient told.

    Name the person (first name, last name, birth date) and give a fresh
    TOTP code. 404 when the identity is not this profile's, exactly as for
    an unknown id; 401 `totp_required` for a wrong or used code; 403
    `emergency_access_locked` when the patient locked it; 429
    `emergency_access_limit` beyond `CARNET_EMERGENCY_MAX_PER_DAY` in 24
    hours (the operator is alerted)."""
    with transaction():
        grant = emergency.grant_emergency_access(current_api_user(), patient_id, **data)
        return _json(schemas.EmergencyGrantSchema(), grant, 201)


@blp.route(f"{NOTEBOOK}/export")
@bearer_required()
@reauth_required
@blp.arguments(schemas.ExportQuerySchema, location="query")
@blp.response(200, content_type="application/fhir+json", description="A FHIR R4 Bundle, or a PDF")
@documented_errors(403, 404, 422)
def export(query, patient_id):
    """The whole notebook as a FHIR R4 Bundle (`format=fhir`) or a PDF (`format=pdf`), patient side only.

    Needs a token issued within the last minutes (else 401 `reauth_required`:
    ask for a new token with the credentials)."""
    with transaction():
        exported = exports.export_notebook(current_api_user(), patient_id, query["format"])
    response = send_file(io.BytesIO(exported.content), mimetype=exported.mimetype, as_attachment=True,
                         download_name=exported.filename)
    response.headers.update(PRIVATE_HEADERS)
    return response
