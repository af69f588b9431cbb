"""The practitioner's page for the practice's address and phone."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.accounts import bp, phones, practice_contact
from webapp.accounts.forms import PracticeContactForm
from webapp.accounts.models import Role
from webapp.errors import Forbidden
from webapp.web import form_action


@bp.route("/settings/practice", methods=["GET", "POST"])
@login_required
def practice_contact_settings():
    """Where patients find and call the practice."""
    profile = current_user.practitioner_profile if current_user.role is Role.PRACTITIONER else None
    if profile is None:
        raise Forbidden()
    form = PracticeContactForm(obj=profile)
    if form.validate_on_submit():
        with form_action(form) as action:
            practice_contact.update_practice_contact(
                current_user, address=form.address.data, postcode=form.postcode.data, city=form.city.data,
                phone=form.phone.data)
        if action.succeeded:
            flash(_("The practice's contact details are saved."), "success")
            return redirect(url_for("accounts.practice_contact_settings"))
    elif not form.is_submitted():
        form.phone.data = phones.display_phone(profile.phone)
    status = 422 if form.errors else 200
    return render_template("accounts/practice_contact.html", form=form, practitioner=profile), status
