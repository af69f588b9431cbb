"""Account pages: sign-up, login with two-factor, logout, password reset,
and the security pages (password, two-factor, re-authentication)."""

import functools

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.accounts import (
    authentication,
    bp,
    email_confirmation,
    password_changes,
    proxies,
    registration,
    relatives,
    sessions,
    totp,
)
from webapp.accounts.errors import AccountLocked
from webapp.accounts.forms import (
    ChangePasswordForm,
    ConfirmForm,
    LoginForm,
    PasswordResetForm,
    PasswordResetRequestForm,
    PatientSignupForm,
    PractitionerSignupForm,
    ReauthForm,
    RelativeForm,
    TotpForm,
    TotpResetForm,
)
from webapp.accounts.models import Role, User
from webapp.errors import NotFound, handle_carnet_error
from webapp.extensions import db, limiter
from webapp.navigation import landing_url, register_nav
from webapp.transaction import transaction
from webapp.urls import safe_next_url
from webapp.web import form_action

PENDING_USER_KEY = "pending_2fa_user_id"

register_nav("accounts.account", _l("My account"), set(Role), order=95)
bp.before_app_request(sessions.enforce_session_limits)


def finish_login(user: User, opening: sessions.SessionOpening, welcome: str | None = None):
    """Log in on a fresh session (`opening` was written in the login's unit
    of work), then go where the user was heading."""
    next_url = safe_next_url(session.get("login_next"), landing_url(user, url_for("site.home")))
    sessions.start_session(user, opening)
    if welcome:
        flash(welcome, "success")
    return redirect(next_url)


def _pending_user() -> User | None:
    user_id = session.get(PENDING_USER_KEY)
    return db.session.get(User, user_id) if user_id else None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    form = LoginForm()
    if request.method == "GET" and request.args.get("next"):
        session["login_next"] = safe_next_url(request.args["next"], "")
    if form.validate_on_submit():
        with form_action(form) as action:
            user = authentication.check_password_login(form.email.data, form.password.data)
            if not user.role.requires_totp:
                authentication.record_successful_login(user)
                opening = sessions.prepare_session(user)
        if action.succeeded:
            if not user.role.requires_totp:
                return finish_login(user, opening)
            # Only the first factor is passed: the account is remembered, not
            # logged in, until the code (or the enrolment) is done.
            session[PENDING_USER_KEY] = user.id
            return redirect(url_for("accounts.login_totp" if user.has_totp else "accounts.enrol_totp"))
    return render_template("accounts/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login_totp():
    user = _pending_user()
    if user is None:
        return redirect(url_for("accounts.login"))
    form = TotpForm()
    if form.validate_on_submit():
        with form_action(form) as action:
            authentication.check_second_factor(user, form.code.data)
            authentication.record_successful_login(user)
            opening = sessions.prepare_session(user)
        if action.succeeded:
            return finish_login(user, opening)
    return render_template("accounts/login_totp.html", form=form)


@bp.route("/login/two-factor-setup", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def enrol_totp():
    """First login of a practitioner or staff member: scan the code, confirm it."""
    user = _pending_user()
    if user is None or user.has_totp:
        return redirect(url_for("accounts.login"))
    form = TotpForm()
    if form.validate_on_submit():
        with form_action(form) as action:
            authentication.enable_totp(user, user.totp_secret, form.code.data)
            opening = sessions.prepare_session(user)
        if action.succeeded:
            return finish_login(user, opening)
    uri = totp.provisioning_uri(user.totp_secret, user.email)
    return render_template("accounts/enrol_totp.html", form=form, secret=user.totp_secret,
                           qr_svg=totp.qr_code_svg(uri))


@bp.route("/logout", methods=["POST"])
def logout():
    sessions.end_session(current_user._get_current_object())
    flash(_("You are logged out."), "success")
    return redirect(url_for("site.home"))


@bp.route("/signup")
def signup():
    return render_template("accounts/signup.html")


@bp.route("/signup/patient", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup_patient():
    form = PatientSignupForm()
    if form.validate_on_submit():
        with form_action(form) as action:
            user = registration.register_patient(
                email=form.email.data, password=form.password.data, first_name=form.first_name.data,
                last_name=form.last_name.data, birth_date=form.birth_date.data, locale=session.get("locale"),
            )
            email_confirmation.send_email_confirmation(user)
            opening = sessions.prepare_session(user)
        if action.succeeded:
            return finish_login(user, opening, welcome=_("Welcome to Carnet! Your account is ready."))
    return render_template("accounts/signup_form.html", form=form, title=_("Create a patient account"))


@bp.route("/signup/practitioner", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup_practitioner():
    form = PractitionerSignupForm()
    if form.validate_on_submit():
        with form_action(form) as action:
            user = registration.register_practitioner(
                email=form.email.data, password=form.password.data, first_name=form.first_name.data,
                last_name=form.last_name.data, rpps=form.rpps.data.strip(), specialty=form.specialty.data,
                address=form.address.data, postcode=form.postcode.data, city=form.city.data,
                locale=session.get("locale"),
            )
            email_confirmation.send_email_confirmation(user)
        if action.succeeded:
            session[PENDING_USER_KEY] = user.id
            return redirect(url_for("accounts.enrol_totp"))
    return render_template("accounts/signup_form.html", form=form, title=_("Create a practitioner account"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def forgot_password():
    form = PasswordResetRequestForm()
    if form.validate_on_submit():
        with transaction():
            password_changes.request_password_reset(form.email.data)
        # The same answer whether or not the account exists.
        flash(_("If an account exists for this address, a reset link is on its way."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def reset_password(token: str):
    form = PasswordResetForm()
    if form.validate_on_submit():
        with form_action(form) as action:
            password_changes.reset_password(token, form.password.data)
        if action.succeeded:
            flash(_("Your password is changed. You can log in."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


def _login_required():
    return None if current_user.is_authenticated else current_app.login_manager.unauthorized()


@bp.errorhandler(AccountLocked)
def _end_locked_session(error: AccountLocked):
    """A re-authentication locked the account (the pages that ask for one let
    `AccountLocked` through `form_action`): this session ends with it."""
    if not current_user.is_authenticated:
        return handle_carnet_error(error)  # a login refused: nothing to end
    sessions.end_session(current_user._get_current_object(), reason="locked")
    flash(str(error.message), "error")
    return redirect(url_for("accounts.login"))


def _render_account(relative_form: RelativeForm | None = None):
    own = current_user.patient_profile
    is_patient = current_user.role is Role.PATIENT
    return render_template(
        "accounts/account.html",
        own_proxies=proxies.list_proxies(current_user, own.id) if own is not None else [],
        relatives=relatives.list_relatives(current_user) if is_patient else [],
        relative_form=relative_form or (RelativeForm() if is_patient else None), confirm_form=ConfirmForm(),
    )


@bp.route("/account")
def account():
    if refusal := _login_required():
        return refusal
    return _render_account()


@bp.route("/account/relatives", methods=["POST"])
def add_relative():
    """Add a profile to act for; errors are shown next to the fields."""
    if refusal := _login_required():
        return refusal
    if current_user.role is not Role.PATIENT:
        raise NotFound()
    form = RelativeForm()
    if form.validate_on_submit():
        with form_action(form) as action:
            profile = relatives.add_relative(current_user, first_name=form.first_name.data,
                                            last_name=form.last_name.data, birth_date=form.birth_date.data)
        if action.succeeded:
            flash(_("%(name)s is added to your account.", name=profile.first_name), "success")
            return redirect(url_for("accounts.account"))
    return _render_account(form), 422


@bp.route("/account/profiles/<int:patient_id>/proxies/<int:account_id>/remove", methods=["POST"])
def remove_proxy(patient_id: int, account_id: int):
    """The profile's owner removes a proxy, or a proxy stops acting for a profile."""
    if refusal := _login_required():
        return refusal
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("accounts.account"))
    with transaction():
        proxies.remove_proxy(current_user, patient_id, account_id)
    flash(_("Done: this account no longer acts for this profile, and the other side is told."), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/account/password", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def change_password():
    """Change one's password: the current one is required; every API token
    is revoked and every other session ends."""
    if refusal := _login_required():
        return refusal
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with form_action(form, passes=(AccountLocked,)) as action:
            password_changes.change_own_password(current_user, form.current_password.data, form.password.data,
                                                 keep_session_token=sessions.current_session_token())
        if action.succeeded:
            sessions.restart_after_password_change()
            flash(_("Your password is changed. Your API tokens are revoked and your other sessions are closed."),
                  "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/account/confirm", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reauthenticate():
    """Re-enter one's credentials before a sensitive action, then go on to it."""
    if refusal := _login_required():
        return refusal
    form = ReauthForm()
    needs_code = current_user.role.requires_totp
    if not needs_code:
        del form.code
    if form.validate_on_submit():
        with form_action(form, passes=(AccountLocked,)) as action:
            authentication.confirm_identity(current_user, form.password.data, form.code.data if needs_code else None)
        if action.succeeded:
            sessions.mark_reauthenticated()
            return redirect(safe_next_url(request.args.get("next"), url_for("accounts.account")))
    return render_template("accounts/reauthenticate.html", form=form)


def _totp_roles_only(view):
    """Only the roles that use TOTP have a two-factor page (checked before re-authentication)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_user.is_authenticated and not current_user.role.requires_totp:
            raise NotFound()
        return view(*args, **kwargs)

    return wrapper


@bp.route("/account/two-factor", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@_totp_roles_only
@sessions.reauth_required
def reset_totp():
    """Move two-factor authentication to a new authenticator app."""
    form = TotpResetForm()
    if form.validate_on_submit():
        with form_action(form) as action:
            authentication.reset_totp(current_user, form.secret.data, form.code.data)
        if action.succeeded:
            flash(_("Two-factor authentication now uses your new app. Codes from the old one no longer work."),
                  "success")
            return redirect(url_for("accounts.account"))
    if not totp.is_well_formed_secret(form.secret.data):
        form.secret.data = totp.new_totp_secret()
    uri = totp.provisioning_uri(form.secret.data, current_user.email)
    return render_template("accounts/reset_totp.html", form=form, secret=form.secret.data,
                           qr_svg=totp.qr_code_svg(uri))
