"""Shared-record pages: a patient's INS and consent; the outbox for administrators."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from webapp.dmp import bp, insi, services
from webapp.dmp.forms import STATUS_LABELS, ConsentForm, IdentityForm, PushActionForm
from webapp.dmp.models import PushStatus
from webapp.paging import page_number
from webapp.transaction import transaction
from webapp.web import domain_errors, form_action

PUSH_STATUS_LABELS = {
    PushStatus.PENDING: _l("waiting to be sent"),
    PushStatus.SENT: _l("sent"),
    PushStatus.FAILED: _l("refused or failed"),
    PushStatus.CANCELLED: _l("cancelled"),
}
PER_PAGE = 50


def push_status_text(entry) -> str | None:
    """The line an entry shows about its push, None when it is not pushed."""
    status = services.push_status(entry.id)
    return str(_l("Shared health record: %(status)s", status=PUSH_STATUS_LABELS[status])) if status else None


def _render_record(state, identity_form, consent_form, status=200):
    return render_template("dmp/shared_record.html", state=state, identity_form=identity_form,
                           consent_form=consent_form, status_labels=STATUS_LABELS, insi_form=PushActionForm(),
                           insi_enabled=insi.insi_enabled(current_app.config)), status


@bp.route("/patients/<int:patient_id>/shared-record", methods=["GET"])
@login_required
def shared_record(patient_id):
    # Rendered inside the unit of work: the template reads the identity and consents it loads.
    with transaction():
        state = services.shared_record_state(current_user, patient_id)
        form = IdentityForm(can_qualify=state.can_qualify, data={"ins": state.identity.ins} if state.identity else None)
        return _render_record(state, form, ConsentForm())


@bp.route("/patients/<int:patient_id>/shared-record/identity", methods=["POST"])
@login_required
def record_identity(patient_id):
    form = IdentityForm(can_qualify=services.shared_record_state(current_user, patient_id).can_qualify)
    if form.validate_on_submit():
        with form_action(form, passes=(404,)) as done:
            services.record_identity(current_user, patient_id, ins=form.ins.data, status=form.status.data)
        if done.succeeded:
            flash(_l("The INS is recorded."), "success")
            return redirect(url_for("dmp.shared_record", patient_id=patient_id))
    # Read again: a refused write was rolled back, and the page shows the record as it stands.
    return _render_record(services.shared_record_state(current_user, patient_id), form, ConsentForm(), 422)


@bp.route("/patients/<int:patient_id>/shared-record/insi", methods=["POST"])
@login_required
def verify_identity(patient_id):
    """Ask INSi to verify the recorded INS; the teleservice is called with no transaction open."""
    if not PushActionForm().validate_on_submit():
        abort(400)
    # Two units of work on purpose: no transaction stays open while the teleservice answers.
    with domain_errors(passes=(403, 404)) as done:
        with transaction():
            nir, traits = services.insi_request(current_user, patient_id)
        answer = services.ask_insi(traits)
        with transaction():
            status = services.apply_insi_answer(current_user, patient_id, nir, traits, answer).status
    if done.succeeded:
        flash(_l("The INSi teleservice confirmed the INS: %(status)s.", status=STATUS_LABELS[status]), "success")
    return redirect(url_for("dmp.shared_record", patient_id=patient_id))


@bp.route("/patients/<int:patient_id>/shared-record/consent", methods=["POST"])
@login_required
def record_consent(patient_id):
    form = ConsentForm()
    if not form.validate_on_submit():
        abort(400)
    with form_action(passes=(403, 404)) as done:
        services.record_consent(current_user, patient_id, consent=form.consent.data == "yes")
    if done.succeeded:
        flash(_l("Your choice is recorded."), "success")
    return redirect(url_for("dmp.shared_record", patient_id=patient_id))


@bp.route("/admin/shared-record")
@login_required
def pushes():
    # An unknown status filters nothing rather than failing a hand-edited link.
    status = request.args.get("status") or None
    if status not in (None, *PushStatus):
        status = None
    page = page_number()
    with transaction():
        result = services.list_pushes(current_user, status=status, page=page, per_page=PER_PAGE)
        return render_template("dmp/pushes.html", result=result, status=status, labels=PUSH_STATUS_LABELS,
                               statuses=list(PushStatus), action_form=PushActionForm())


def _push_action(action, push_id):
    if not PushActionForm().validate_on_submit():
        abort(400)
    with form_action(passes=(403, 404)):
        action(current_user, push_id)
    return redirect(url_for("dmp.pushes"))


@bp.route("/admin/shared-record/<int:push_id>/retry", methods=["POST"])
@login_required
def retry_push(push_id):
    return _push_action(services.retry_push, push_id)


@bp.route("/admin/shared-record/<int:push_id>/cancel", methods=["POST"])
@login_required
def cancel_push(push_id):
    return _push_action(services.cancel_push, push_id)
