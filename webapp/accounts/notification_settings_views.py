"""The account's notification settings page (a patient's)."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.accounts import bp
from webapp.accounts.forms import NotificationSettingsForm, notification_field_name
from webapp.accounts.models import Role
from webapp.accounts.notification_settings import (
    notification_choices,
    set_notification_choices,
    unavailable_channels,
)
from webapp.navigation import register_nav
from webapp.notifications.models import OPTIONAL_CATEGORIES, Category, Channel
from webapp.web import form_action, roles_required

register_nav("accounts.notification_settings", _l("Notifications"), {Role.PATIENT}, order=80)


@bp.route("/account/notifications", methods=["GET", "POST"])
@roles_required(Role.PATIENT)
def notification_settings():
    form = NotificationSettingsForm()
    # A channel the account cannot receive is shown disabled: a browser does
    # not send a disabled box, so its settings are left as they are.
    unavailable = unavailable_channels(current_user)
    if form.validate_on_submit():
        choices = {(category, channel): form[notification_field_name(category, channel)].data
                   for category in OPTIONAL_CATEGORIES for channel in Channel if channel not in unavailable}
        with form_action(form) as action:
            set_notification_choices(current_user, choices, by=current_user)
        if action.succeeded:
            flash(_("Your notification settings are saved."), "success")
            return redirect(url_for("accounts.notification_settings"))
    return _render_settings(form, unavailable)


def _render_settings(form: NotificationSettingsForm, unavailable: dict[Channel, str]):
    """The page with the stored choices (or, after a refused submission, the submitted ones)."""
    for (category, channel), enabled in notification_choices(current_user).items():
        field = form[notification_field_name(category, channel)]
        if channel in unavailable:
            # SMS without a mobile number reach nobody: they show as off.
            field.data = enabled and channel is not Channel.SMS
        elif not form.is_submitted():
            field.data = enabled
    rows = [(category, [(channel, form[notification_field_name(category, channel)]) for channel in Channel])
            for category in OPTIONAL_CATEGORIES]
    return render_template("accounts/notification_settings.html", form=form, rows=rows, unavailable=unavailable,
                           always_sent=[category for category in Category if not category.can_be_turned_off])
