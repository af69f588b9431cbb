"""Notification pages: a patient's notification settings."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.accounts.models import Role
from webapp.navigation import register_nav
from webapp.notifications import bp, services
from webapp.notifications.channels import unavailable_channels
from webapp.notifications.forms import PreferencesForm, field_name
from webapp.notifications.models import OPTIONAL_CATEGORIES, Category, Channel
from webapp.web import form_action, roles_required

register_nav("notifications.settings", _l("Notifications"), {Role.PATIENT}, order=80)


@bp.route("/account/notifications", methods=["GET", "POST"])
@roles_required(Role.PATIENT)
def settings():
    form = PreferencesForm()
    # A channel the account cannot receive is shown disabled: a browser does
    # not send a disabled box, so its settings are left as they are.
    unavailable = unavailable_channels(current_user)
    if form.validate_on_submit():
        choices = {(category, channel): form[field_name(category, channel)].data
                   for category in OPTIONAL_CATEGORIES for channel in Channel if channel not in unavailable}
        with form_action(form) as action:
            services.set_notification_preferences(current_user, choices, by=current_user)
        if action.succeeded:
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for("notifications.settings"))
    stored = services.notification_preferences(current_user)
    for (category, channel), enabled in stored.items():
        field = form[field_name(category, channel)]
        if channel in unavailable:
            # SMS without a mobile number reach nobody: they show as off.
            field.data = enabled and channel is not Channel.SMS
        elif not form.is_submitted():
            field.data = enabled
    rows = [(category, [(channel, form[field_name(category, channel)]) for channel in Channel])
            for category in OPTIONAL_CATEGORIES]
    return render_template("notifications/settings.html", form=form, rows=rows, unavailable=unavailable,
                           always_sent=[category for category in Category if not category.can_be_turned_off])
