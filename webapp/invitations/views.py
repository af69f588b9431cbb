"""Invitation pages: the desk invites a patient; the patient claims the profile from the link."""

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from webapp.accounts import sessions
from webapp.accounts.models import User
from webapp.accounts.proxies import account_name
from webapp.accounts.views import finish_login
from webapp.booking.appointment_actions import AppointmentAction, register_appointment_actions
from webapp.booking.models import Appointment
from webapp.errors import CarnetError
from webapp.extensions import limiter
from webapp.invitations import bp, services
from webapp.invitations.errors import InvitationUnavailable
from webapp.invitations.forms import ClaimForm, ConfirmForm, InviteForm, RelativeInviteForm
from webapp.transaction import transaction
from webapp.web import form_action

CLAIM_RATE_LIMIT = "10 per hour"


def _agenda_actions(appointment: Appointment, user: User) -> list[AppointmentAction]:
    """On the agenda's appointment page: invite a patient who has no account yet."""
    if not services.can_invite(user, appointment.patient, appointment.practitioner_id):
        return []
    return [AppointmentAction(_l("Invite the patient to Carnet"), url_for(
        "invitations.invite", patient_id=appointment.patient_id, practitioner=appointment.practitioner_id,
        appointment=appointment.id))]


register_appointment_actions(_agenda_actions)


@bp.route("/agenda/patients/<int:patient_id>/invite", methods=["GET", "POST"])
@login_required
def invite(patient_id: int):
    """Confirm the patient's email and send (or send again) the invitation."""
    practitioner_id = request.args.get("practitioner", type=int) or 0
    appointment_id = request.args.get("appointment", type=int)
    desk = services.invitation_desk(current_user, patient_id, practitioner_id)
    form = InviteForm()
    if request.method == "GET":
        form.email.data = desk.patient.email
    if form.validate_on_submit():
        with form_action(form) as action:
            invitation = services.invite_patient(patient_id=patient_id, practitioner_id=practitioner_id,
                                                 email=form.email.data, by=current_user)
        if action.succeeded:
            flash(_("The invitation is sent to %(email)s.", email=invitation.patient.email), "success")
            return redirect(url_for("invitations.invite", patient_id=patient_id, practitioner=practitioner_id,
                                    appointment=appointment_id))
    sent_at = format_datetime(desk.latest.created_at, "medium") if desk.latest else None
    return render_template("invitations/invite.html", form=form, desk=desk, sent_at=sent_at,
                           appointment_id=appointment_id)


@bp.route("/account/relatives/<int:patient_id>/own-account", methods=["GET", "POST"])
@login_required
def give_account(patient_id: int):
    """A proxy gives the relative it acts for their own account ("give Léo his own account")."""
    patient = services.relative_to_invite(current_user, patient_id)
    form = RelativeInviteForm()
    if form.validate_on_submit():
        with form_action(form) as action:
            invitation = services.invite_relative(patient_id=patient_id, email=form.email.data, by=current_user)
        if action.succeeded:
            flash(_("The invitation is sent to %(email)s.", email=invitation.patient.email), "success")
            return redirect(url_for("accounts.account"))
    return render_template("invitations/give_account.html", form=form, patient=patient)


@bp.errorhandler(InvitationUnavailable)
def _unavailable(error: CarnetError):
    """A link that no longer opens anything (unknown, expired, replaced, used): a page that says why."""
    return render_template("invitations/unavailable.html", message=error.message), error.status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit(CLAIM_RATE_LIMIT, methods=["POST"])
def claim(token: str):
    """Create the account that owns the invited profile; a signed-in patient is offered to add it instead."""
    invitation = services.open_invitation(token)  # an unavailable link goes to `_unavailable`
    if current_user.is_authenticated:
        return render_template("invitations/claim.html", invitation=invitation, token=token,
                               confirm_form=ConfirmForm())
    form, proxies = _claim_form(invitation)
    if form.validate_on_submit():
        with form_action(form, passes=(InvitationUnavailable,)) as action:
            user = services.claim_with_new_account(
                token, email=form.email.data, password=form.password.data,
                accepted_terms=form.accept_terms.data, locale=session.get("locale"),
                keep_proxy_ids=(form.keep_proxies.data or []) if "keep_proxies" in form else [])
            opening = sessions.prepare_session(user)
        if action.succeeded:
            return finish_login(user, opening, welcome=_("Welcome to Carnet! Your notebook and appointments are here."))
    return render_template("invitations/claim.html", invitation=invitation, token=token, form=form,
                           child_proxies=([account_name(proxy) for proxy in proxies]
                                          if "keep_proxies" not in form else []))


def _claim_form(invitation) -> tuple[ClaimForm, list[User]]:
    """The claim form, and the accounts acting for the profile: the claimant
    chooses which of them keep acting for it when the rules let them decide
    (`services.claimant_decides_proxies`); otherwise the page only names them."""
    form = ClaimForm()
    proxies = services.claimable_proxies(invitation)
    if proxies and services.claimant_decides_proxies(invitation):
        form.keep_proxies.choices = [(proxy.id, account_name(proxy)) for proxy in proxies]
    else:
        del form.keep_proxies
    if request.method == "GET":
        form.email.data = invitation.patient.email
    return form, proxies


@bp.route("/invitation/<token>/add", methods=["POST"])
@login_required
@limiter.limit(CLAIM_RATE_LIMIT)
def claim_as_relative(token: str):
    """A signed-in patient adds the invited profile to those they act for."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("invitations.claim", token=token))
    try:
        with transaction():
            patient = services.claim_as_relative(token, by=current_user)
    except CarnetError as error:
        return _unavailable(error)
    flash(_("%(name)s is added to your account.", name=patient.first_name), "success")
    return redirect(url_for("notebook.patient_notebook", patient_id=patient.id))
