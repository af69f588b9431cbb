"""Privacy pages: the overview, the data download, closing the account."""

import io

from flask import flash, redirect, render_template, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from webapp.accounts.models import Role
from webapp.accounts.sessions import reauth_required
from webapp.extensions import limiter
from webapp.privacy import bp, services
from webapp.privacy.forms import CloseAccountForm
from webapp.transaction import transaction
from webapp.web import form_action, roles_required


@bp.route("/account/privacy")
@roles_required(Role.PATIENT)
def overview():
    return render_template("privacy/overview.html")


@bp.route("/account/privacy/export")
@limiter.limit("10 per hour")
@roles_required(Role.PATIENT)  # before re-authentication: nobody else is asked for a password in vain
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
@roles_required(Role.PATIENT)
@reauth_required
def close_account():
    """Confirmation step, then closing the account and ending this session."""
    form = CloseAccountForm()
    if form.validate_on_submit():
        with form_action(form) as action:
            services.close_account(current_user)
        if action.succeeded:
            logout_user()
            session.clear()
            flash(_("Your account is closed. Thank you for having used Carnet."), "success")
            return redirect(url_for("site.home"))
    with transaction():
        upcoming = services.upcoming_appointment_count(current_user)
    return render_template("privacy/close_account.html", form=form, upcoming=upcoming)
