"""Privacy API: download all of one's data, close one's account (patients, fresh token)."""

import io

from flask import send_file

from webapp.accounts.models import Role
from webapp.accounts.sessions import reauth_required
from webapp.api.auth import bearer_required, current_api_user, documented_errors
from webapp.api.blueprint import Blueprint
from webapp.extensions import limiter
from webapp.privacy import services
from webapp.transaction import transaction

blp = Blueprint("privacy_api", __name__, url_prefix="/api/v1", description="Privacy: data download, account closing")


@blp.route("/me/export")
@limiter.limit("10 per hour")
@bearer_required(Role.PATIENT)
@reauth_required
@blp.response(200, content_type="application/zip",
              description="A ZIP archive: manifest.json, account.json, patients.json, appointments.json, "
                          "waitlist.json, notebook_access_log.json, notification_settings.json, consents.json, "
                          "security_log.json and notebook/patient-{id}.fhir.json (FHIR R4 Bundles).")
def export_my_data():
    """Everything Carnet holds about the caller's account and the relatives it acts for.

    Needs a token issued within the last minutes (else 401 `reauth_required`:
    ask for a new token with the credentials)."""
    with transaction():
        archive = services.export_account(current_api_user())
    response = send_file(io.BytesIO(archive.content), mimetype="application/zip", as_attachment=True,
                         download_name=archive.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.route("/me", methods=["DELETE"])
@limiter.limit("10 per minute")
@bearer_required(Role.PATIENT)
@reauth_required
@blp.response(204)
@documented_errors(409)
def close_my_account():
    """Close the caller's account: login closed, every token revoked, contact
    data erased; health records kept for the legal retention period (see
    the README, "Data retention and deletion"). Needs a fresh token; 409
    `upcoming_appointments` while appointments are still to come."""
    with transaction():
        services.close_account(current_api_user())
