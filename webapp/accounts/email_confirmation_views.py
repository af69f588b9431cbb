"""Email address confirmation pages: the link from the mail, and asking for a new one."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.accounts import bp, email_confirmation
from webapp.accounts.forms import ConfirmForm
from webapp.extensions import limiter
from webapp.transaction import transaction
from webapp.web import form_action


@bp.route("/account/email/<token>", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def confirm_email(token: str):
    """The link from the confirmation mail shows a button; only its POST
    confirms, so a mail scanner opening the link changes nothing."""
    form = ConfirmForm()
    if form.validate_on_submit():
        with form_action(form) as action:
            email_confirmation.confirm_email(token)
        if action.succeeded:
            flash(_("Thank you: your email address is confirmed."), "success")
            return redirect(url_for("site.home"))
    return render_template("accounts/confirm_link.html", form=form, title=_("Confirm your email address"),
                           button=_("Confirm my address"))


@bp.route("/account/email", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def resend_confirmation():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    form = ConfirmForm()
    if form.validate_on_submit() and current_user.email_confirmed_at is None:
        with transaction():
            email_confirmation.send_email_confirmation(current_user)
        flash(_("A new confirmation link is on its way to %(email)s.", email=current_user.email), "success")
        return redirect(url_for("accounts.resend_confirmation"))
    return render_template("accounts/resend_confirmation.html", form=form)
