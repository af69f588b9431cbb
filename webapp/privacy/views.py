"""Privacy pages: the overview, the data download, closing the account."""

import functools
import io

from flask import current_app, flash, redirect, render_template, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from webapp.accounts.models import Role
from webapp.accounts.sessions import reauth_required
from webapp.errors import CarnetError, Forbidden
from webapp.extensions import limiter
from webapp.privacy import bp, services
from webapp.privacy.forms import CloseAccountForm
from webapp.transaction import transaction


def _patient_only(view):
    """Logged-in patients only; checked before re-authentication is asked for."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if current_user.role is not Role.PATIENT:
            raise Forbidden()
        return view(*args, **kwargs)

    return wrapper


@bp.route("/account/privacy")
@_patient_only
def overview():
    return render_template("privacy/overview.html")


@bp.route("/account/privacy/export")
@limiter.limit("10 per hour")
@_patient_only
@reauth_required
def export():
    """Download the archive of all the account's data."""
    with transaction():
        archive = services.export_account(current_user)
    response = send_file(io.BytesIO(archive.content), mimetype="application/zip", as_attachment=True,
                         download_name=archive.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/account/close", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@_patient_only
@reauth_required
def close_account():
    """Confirmation step, then closing the account and ending this session."""
    form = CloseAccountForm()
    if form.validate_on_submit():
        try:
            with transaction():
                services.close_account(current_user)
        except CarnetError as error:
            form.form_errors.append(error.message)
        else:
            logout_user()
            session.clear()
            flash(_("Your account is closed. Thank you for having used Carnet."), "success")
            return redirect(url_for("site.home"))
    with transaction():
        upcoming = services.upcoming_appointment_count(current_user)
    return render_template("privacy/close_account.html", form=form, upcoming=upcoming)
