"""Profile pages: a patient edits their own profile (names, birth date, phone)
and those of the relatives they act for."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.accounts import bp, phones, profiles
from webapp.accounts.forms import ProfileForm
from webapp.accounts.models import Role
from webapp.errors import NotFound
from webapp.web import form_action


def _edit(patient_id: int, *, is_own: bool):
    """Show and save the profile form; the identity fields are left out (and
    explained) once the identity is checked."""
    editable = profiles.editable_profile(current_user, patient_id)
    profile = editable.profile
    form = ProfileForm(obj=profile)
    if editable.identity_locked:
        for name in profiles.IDENTITY_FIELDS:
            delattr(form, name)
    if form.validate_on_submit():
        identity = {name: form[name].data if name in form else getattr(profile, name)
                    for name in profiles.IDENTITY_FIELDS}
        with form_action(form) as action:
            profiles.update_profile(current_user, profile.id, **identity, phone=form.phone.data)
        if action.succeeded:
            flash(_("The profile is saved.") if not is_own else _("Your profile is saved."), "success")
            return redirect(url_for("accounts.profile") if is_own else url_for("accounts.account"))
    elif not form.is_submitted():
        form.phone.data = phones.display_phone(profile.phone)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("accounts/profile.html", form=form, profile=profile, is_own=is_own,
                           identity_status=editable.identity_status,
                           identity_locked=editable.identity_locked), status


@bp.route("/account/profile", methods=["GET", "POST"])
@login_required
def profile():
    """The patient's own profile."""
    own = current_user.patient_profile if current_user.role is Role.PATIENT else None
    if own is None:
        raise NotFound()
    return _edit(own.id, is_own=True)


@bp.route("/account/relatives/<int:patient_id>", methods=["GET", "POST"])
@login_required
def edit_relative(patient_id: int):
    """A relative's profile, edited by an account acting for them (not once they have their own account)."""
    if current_user.role is not Role.PATIENT:
        raise NotFound()
    own = current_user.patient_profile
    if own is not None and own.id == patient_id:
        return redirect(url_for("accounts.profile"))
    return _edit(patient_id, is_own=False)
