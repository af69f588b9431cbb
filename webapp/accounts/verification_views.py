"""Back-office pages of the verification of practitioners, and the banner of those awaiting it."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.accounts import bp, verification
from webapp.accounts.directory import latest_import
from webapp.accounts.forms import RejectPractitionerForm, VerifyPractitionerForm
from webapp.accounts.models import Role, Verification, VerificationMethod
from webapp.accounts.specialties import specialty_label
from webapp.navigation import register_nav
from webapp.paging import page_number, paginate
from webapp.web import form_action

PER_PAGE = 20

register_nav("accounts.backoffice_practitioners", _l("Practitioners to verify"), {Role.ADMIN}, order=55)

VERIFICATION_LABELS = {
    Verification.PENDING.value: _l("Awaiting verification"),
    Verification.VERIFIED.value: _l("Verified"),
    Verification.REJECTED.value: _l("Rejected"),
}
METHOD_LABELS = {
    VerificationMethod.DOCUMENT.value: _l("documents"),
    VerificationMethod.DIRECTORY.value: _l("RPPS directory"),
    VerificationMethod.PRO_SANTE_CONNECT.value: _l("Pro Santé Connect"),
}
CHECK_LABELS = {"match": _l("matches"), "mismatch": _l("differs"), "not_compared": _l("not compared")}


@bp.app_context_processor
def verification_context():
    return {"is_unverified_practitioner": verification.is_unverified_practitioner,
            "verification_labels": VERIFICATION_LABELS, "verification_method_labels": METHOD_LABELS,
            "directory_check_labels": CHECK_LABELS, "specialty_label": specialty_label}


def _forms_for(practitioner_id: int, *, verify_form=None, reject_form=None) -> tuple:
    """One pair of forms per practitioner, their fields prefixed so that a page lists several."""
    return (verify_form or VerifyPractitionerForm(formdata=None, prefix=f"verify-{practitioner_id}"),
            reject_form or RejectPractitionerForm(formdata=None, prefix=f"reject-{practitioner_id}"))


@bp.route("/backoffice/practitioners")
def backoffice_practitioners():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    state = request.args.get("verification", Verification.PENDING.value)
    if state not in VERIFICATION_LABELS:
        state = Verification.PENDING.value
    statement = verification.practitioners_to_review(current_user, Verification(state))
    page = paginate(statement, page=page_number(), per_page=PER_PAGE)
    reviews = verification.reviews_of(page["items"])
    return render_template("accounts/backoffice_practitioners.html", page=page, reviews=reviews, state=state,
                           forms={review.profile.id: _forms_for(review.profile.id) for review in reviews},
                           directory_import=latest_import())


def _review_page(practitioner_id: int, *, verify_form=None, reject_form=None, status: int = 200):
    profile = verification.practitioner_for_review(current_user, practitioner_id)
    review = verification.reviews_of([profile])[0]
    forms = _forms_for(profile.id, verify_form=verify_form, reject_form=reject_form)
    return render_template("accounts/backoffice_practitioner.html", review=review, forms=forms,
                           directory_import=latest_import()), status


@bp.route("/backoffice/practitioners/<int:practitioner_id>")
def backoffice_practitioner(practitioner_id: int):
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return _review_page(practitioner_id)


def _decide(practitioner_id: int, form, decide, done_message, *, form_name: str):
    """Run a decision: field errors next to the fields (422), a refused state
    (directory mismatch) above the form, success back to the pending list."""
    if form.validate_on_submit():
        with form_action(form, passes=(403, 404)) as action:
            profile = verification.practitioner_for_review(current_user, practitioner_id)
            decide(profile)
        if action.succeeded:
            flash(done_message(profile), "success")
            return redirect(url_for("accounts.backoffice_practitioners"))
    return _review_page(practitioner_id, **{form_name: form}, status=422)


@bp.route("/backoffice/practitioners/<int:practitioner_id>/verify", methods=["POST"])
def backoffice_verify(practitioner_id: int):
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    form = VerifyPractitionerForm(prefix=f"verify-{practitioner_id}")
    return _decide(practitioner_id, form, lambda profile: verification.verify_practitioner(
        profile, method=VerificationMethod(form.method.data), by=current_user, note=form.note.data,
    ), lambda profile: _("%(name)s is verified: listed and bookable from now on, and told by mail.",
                         name=profile.full_name), form_name="verify_form")


@bp.route("/backoffice/practitioners/<int:practitioner_id>/reject", methods=["POST"])
def backoffice_reject(practitioner_id: int):
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    form = RejectPractitionerForm(prefix=f"reject-{practitioner_id}")
    return _decide(practitioner_id, form, lambda profile: verification.reject_practitioner(
        profile, by=current_user, reason=form.reason.data,
    ), lambda profile: _("%(name)s is rejected and told why by mail.", name=profile.full_name),
        form_name="reject_form")
