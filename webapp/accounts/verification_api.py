"""Back-office API: review, verify and reject practitioners (role admin)."""


from webapp.accounts import verification
from webapp.accounts import verification_schemas as schemas
from webapp.accounts.models import Role, Verification, VerificationMethod
from webapp.api.auth import bearer_required, current_api_user, documented_errors
from webapp.api.blueprint import Blueprint
from webapp.paging import paginate
from webapp.transaction import transaction

blp = Blueprint("verification_api", __name__, url_prefix="/api/v1",
                description="Back office: verification of practitioners")


@blp.route("/backoffice/practitioners")
@bearer_required(Role.ADMIN)
@blp.arguments(schemas.ReviewListQuerySchema, location="query")
@blp.response(200, schemas.PractitionerReviewPageSchema)
@documented_errors(422)
def practitioners(query):
    """Practitioners in one verification state (`pending` by default), oldest
    sign-up first, each with what the imported RPPS directory says."""
    statement = verification.practitioners_to_review(current_api_user(), Verification(query["verification"]))
    page = paginate(statement, page=query["page"], per_page=query["per_page"])
    page["items"] = verification.reviews_of(page["items"])
    return page


@blp.route("/backoffice/practitioners/<int:practitioner_id>")
@bearer_required(Role.ADMIN)
@blp.response(200, schemas.PractitionerReviewSchema)
@documented_errors(404)
def practitioner(practitioner_id):
    """One practitioner with their directory comparison."""
    profile = verification.practitioner_for_review(current_api_user(), practitioner_id)
    return verification.reviews_of([profile])[0]


@blp.route("/backoffice/practitioners/<int:practitioner_id>/verify", methods=["POST"])
@bearer_required(Role.ADMIN)
@blp.arguments(schemas.VerifyInputSchema)
@blp.response(200, schemas.PractitionerReviewSchema)
@documented_errors(404, 409, 422)
def verify(data, practitioner_id):
    """Verify a practitioner: listed and bookable from now on; told by mail.
    409 `directory_mismatch` when `method` is `directory` and the RPPS number,
    last and first names match no active directory entry."""
    by = current_api_user()
    with transaction():
        profile = verification.practitioner_for_review(by, practitioner_id)
        verification.verify_practitioner(profile, method=VerificationMethod(data["method"]), by=by, note=data["note"])
    return verification.reviews_of([profile])[0]


@blp.route("/backoffice/practitioners/<int:practitioner_id>/reject", methods=["POST"])
@bearer_required(Role.ADMIN)
@blp.arguments(schemas.RejectInputSchema)
@blp.response(200, schemas.PractitionerReviewSchema)
@documented_errors(404, 422)
def reject(data, practitioner_id):
    """Reject a practitioner (or withdraw a verification): not listed, not
    bookable, no desk and no notebook; told the reason by mail."""
    by = current_api_user()
    with transaction():
        profile = verification.practitioner_for_review(by, practitioner_id)
        verification.reject_practitioner(profile, by=by, reason=data["reason"])
    return verification.reviews_of([profile])[0]
