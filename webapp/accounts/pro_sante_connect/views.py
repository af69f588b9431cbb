"""Pages of the Pro Santé Connect login: the start, the callback, linking an
existing account, completing a new one. Every refusal is audited and shown
as a page with its status (400, 403 or 503), never as a server error."""


from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from webapp.accounts import email_confirmation, sessions
from webapp.accounts.pro_sante_connect import bp, client, services
from webapp.accounts.pro_sante_connect.client import ProviderIdentity
from webapp.accounts.pro_sante_connect.errors import LoginCancelled, ProSanteConnectError
from webapp.accounts.pro_sante_connect.forms import CompleteAccountForm, LinkAccountForm
from webapp.accounts.views import finish_login
from webapp.db import now_utc
from webapp.extensions import limiter
from webapp.transaction import transaction
from webapp.web import form_action

# The identity checked at the callback, waiting for the link or the new
# account; it is good for this long.
PENDING_IDENTITY_KEY = "pro_sante_connect_identity"
PENDING_IDENTITY_SECONDS = 15 * 60


@bp.errorhandler(ProSanteConnectError)
def _refuse(error: ProSanteConnectError):
    """Any refusal on these pages: audited, the pending identity forgotten,
    and a page that says why (with the error's status)."""
    with transaction():
        services.record_refusal(error.reason, error.user_id)
    session.pop(PENDING_IDENTITY_KEY, None)
    return render_template("accounts/pro_sante_connect_refused.html", message=error.message), error.status


def _keep_pending(identity: ProviderIdentity) -> None:
    session[PENDING_IDENTITY_KEY] = {
        "rpps": identity.rpps, "first_name": identity.first_name, "last_name": identity.last_name,
        "specialty": identity.specialty, "at": now_utc().timestamp(),
    }


def _pending_identity() -> ProviderIdentity | None:
    data = session.get(PENDING_IDENTITY_KEY)
    if not isinstance(data, dict) or now_utc().timestamp() - data.get("at", 0) > PENDING_IDENTITY_SECONDS:
        session.pop(PENDING_IDENTITY_KEY, None)
        return None
    return ProviderIdentity(rpps=data["rpps"], first_name=data["first_name"], last_name=data["last_name"],
                            specialty=data["specialty"])


@bp.errorhandler(LoginCancelled)
def _cancelled(_error: LoginCancelled):
    flash(_("The Pro Santé Connect login was cancelled. You are not logged in."), "warning")
    return redirect(url_for("accounts.login"))


def _start_again():
    flash(_("Your Pro Santé Connect login has expired. Start again."), "warning")
    return redirect(url_for("accounts.login"))


def _masked_email(email: str) -> str:
    local, _at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


@bp.route("/login/psc")
@limiter.limit("20 per minute")
def login():
    return client.authorization_redirect()


@bp.route("/login/psc/callback")
@limiter.limit("20 per minute")
def callback():
    """Where Pro Santé Connect sends the browser back: a linked account logs
    in; an account never linked asks for its password; no account, the
    new-account form."""
    identity = client.identity_from_callback()  # a refusal or a cancel goes to the handlers above
    with transaction():
        profile = services.find_account(identity)
        user = services.log_in_linked(profile) if profile and profile.pro_sante_connect_linked_at else None
        opening = sessions.prepare_session(user) if user is not None else None
    if user is not None:
        return finish_login(user, opening)
    _keep_pending(identity)
    return redirect(url_for("pro_sante_connect.link_account" if profile else "pro_sante_connect.complete_account"))


@bp.route("/login/psc/link", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def link_account():
    identity = _pending_identity()
    profile = services.find_account(identity) if identity is not None else None
    if profile is None or profile.pro_sante_connect_linked_at is not None:
        return _start_again()  # expired, or it changed since the callback
    form = LinkAccountForm()
    if form.validate_on_submit():
        # A wrong password is shown on the form; a refusal by the rules of
        # Pro Santé Connect ends the attempt (`_refuse`).
        with form_action(form, passes=(ProSanteConnectError,)) as action:
            user = services.link_existing_account(identity, form.password.data)
            opening = sessions.prepare_session(user)
        if action.succeeded:
            return finish_login(user, opening,
                                welcome=_("Your account is now linked to Pro Santé Connect, and verified."))
    return render_template("accounts/pro_sante_connect_link.html", form=form, identity=identity,
                           email=_masked_email(profile.user.email))


@bp.route("/login/psc/new", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def complete_account():
    identity = _pending_identity()
    if identity is None:
        return _start_again()
    form = CompleteAccountForm()
    if request.method == "GET" and identity.specialty:
        form.specialty.data = identity.specialty
    if form.validate_on_submit():
        with form_action(form) as action:
            user = services.create_account(
                identity, email=form.email.data, password=form.password.data or None,
                specialty=form.specialty.data, address=form.address.data, postcode=form.postcode.data,
                city=form.city.data, locale=session.get("locale"),
            )
            email_confirmation.send_email_confirmation(user)
            opening = sessions.prepare_session(user)
        if action.succeeded:
            return finish_login(user, opening,
                                welcome=_("Welcome to Carnet! Your practitioner account is ready and verified."))
    return render_template("accounts/pro_sante_connect_new.html", form=form, identity=identity)
