"""Account pages: sign-up, login with two-factor, logout, password reset."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from webapp.accounts import bp, services, totp
from webapp.accounts.forms import (
    LoginForm,
    PasswordResetForm,
    PasswordResetRequestForm,
    PatientSignupForm,
    PractitionerSignupForm,
    TotpForm,
)
from webapp.accounts.models import User
from webapp.errors import CarnetError
from webapp.extensions import db, limiter
from webapp.transaction import transaction
from webapp.urls import safe_next_url

PENDING_USER_KEY = "pending_2fa_user_id"


def show_errors(form, error: CarnetError) -> None:
    """Put a service error next to the fields it names, or above the form."""
    placed = False
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)
            placed = True
    if not placed:
        form.form_errors.append(error.message)


def _finish_login(user: User, welcome: str | None = None):
    """Log in on a fresh session (no fixation), then go where the user was heading."""
    next_url = safe_next_url(session.get("login_next"), url_for("site.home"))
    locale = user.locale or session.get("locale")
    session.clear()
    login_user(user)
    if locale:
        session["locale"] = locale
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
        try:
            with transaction():
                user = services.check_password_login(form.email.data, form.password.data)
        except CarnetError as error:
            show_errors(form, error)
        else:
            if not user.role.requires_totp:
                with transaction():
                    services.record_successful_login(user)
                return _finish_login(user)
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
        try:
            with transaction():
                services.check_second_factor(user, form.code.data)
                services.record_successful_login(user)
        except CarnetError as error:
            show_errors(form, error)
        else:
            return _finish_login(user)
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
        try:
            with transaction():
                services.enable_totp(user, user.totp_secret, form.code.data)
        except CarnetError as error:
            show_errors(form, error)
        else:
            return _finish_login(user)
    uri = totp.provisioning_uri(user.totp_secret, user.email)
    return render_template("accounts/enrol_totp.html", form=form, secret=user.totp_secret,
                           qr_svg=totp.qr_code_svg(uri))


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
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
        try:
            with transaction():
                user = services.register_patient(
                    email=form.email.data, password=form.password.data, first_name=form.first_name.data,
                    last_name=form.last_name.data, birth_date=form.birth_date.data, locale=session.get("locale"),
                )
                services.send_email_confirmation(user)
        except CarnetError as error:
            show_errors(form, error)
        else:
            return _finish_login(user, welcome=_("Welcome to Carnet! Your account is ready."))
    return render_template("accounts/signup_form.html", form=form, title=_("Create a patient account"))


@bp.route("/signup/practitioner", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup_practitioner():
    form = PractitionerSignupForm()
    if form.validate_on_submit():
        try:
            with transaction():
                user = services.register_practitioner(
                    email=form.email.data, password=form.password.data, first_name=form.first_name.data,
                    last_name=form.last_name.data, rpps=form.rpps.data.strip(), specialty=form.specialty.data,
                    address=form.address.data, postcode=form.postcode.data, city=form.city.data,
                    locale=session.get("locale"),
                )
                services.send_email_confirmation(user)
        except CarnetError as error:
            show_errors(form, error)
        else:
            session[PENDING_USER_KEY] = user.id
            return redirect(url_for("accounts.enrol_totp"))
    return render_template("accounts/signup_form.html", form=form, title=_("Create a practitioner account"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def forgot_password():
    form = PasswordResetRequestForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data)
        if user is not None:
            with transaction():
                services.send_password_reset(user)
        # The same answer whether or not the account exists.
        flash(_("If an account exists for this address, a reset link is on its way."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def reset_password(token: str):
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            with transaction():
                services.reset_password(token, form.password.data)
        except CarnetError as error:
            show_errors(form, error)
        else:
            flash(_("Your password is changed. You can log in."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


@bp.route("/account")
def account():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return render_template("accounts/account.html")
