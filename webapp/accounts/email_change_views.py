"""Changing one's email address: the request on the account page, and the link from the new address."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.accounts import bp, email_changes
from webapp.accounts.errors import AccountLocked
from webapp.accounts.forms import ChangeEmailForm, ConfirmForm
from webapp.extensions import limiter
from webapp.web import form_action


@bp.route("/account/email/change", methods=["GET", "POST"])
@login_required
@limiter.limit("5 per hour", methods=["POST"])
def change_email():
    form = ChangeEmailForm()
    if form.validate_on_submit():
        with form_action(form, passes=(AccountLocked,)) as action:
            email_changes.request_email_change(current_user, current_password=form.current_password.data,
                                               new_email=form.email.data)
        if action.succeeded:
            flash(_("If no other account uses %(email)s, a link is on its way there: open it to confirm the move. "
                    "Your current address is told.", email=form.email.data.strip().lower()), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/change_email.html", form=form)


@bp.route("/account/email/change/<token>", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def confirm_email_change(token: str):
    """The link shows a button; only its POST moves the account, so a mail scanner opening it changes nothing."""
    form = ConfirmForm()
    if form.validate_on_submit():
        with form_action(form) as action:
            user = email_changes.confirm_email_change(token)
        if action.succeeded:
            flash(_("Done: your account now uses %(email)s.", email=user.email), "success")
            return redirect(url_for("site.home"))
    return render_template("accounts/confirm_link.html", form=form, title=_("Confirm your new email address"),
                           button=_("Use this address"))
