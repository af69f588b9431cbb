"""The account's notification settings page (a patient's)."""

import sqlalchemy as sa

from tests import factories
from tests.pages import log_in_with as log_in
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notifications.models import Category, Channel, NotificationPreferenceChange
from webapp.notifications.services import is_wanted


def test_patient_turns_sms_reminders_off(form_post, client):
    # A mobile number and a confirmed address: both channels can be chosen.
    user = factories.make_patient(phone="+33612345678", user_overrides={"email_confirmed_at": now_utc()}).account
    log_in(form_post, user)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "Préférences de notification" in page and "Rappels de rendez-vous" in page
    assert 'name="reminders_sms"' in page and 'name="security_email"' not in page
    fields = {f"{category}_{channel}": "y" for category in Category if category.can_be_turned_off
              for channel in Channel}
    del fields["reminders_sms"]
    response = form_post("/account/notifications", fields, follow_redirects=True)
    assert "Vos préférences de notification sont enregistrées." in response.get_data(as_text=True)
    assert not is_wanted(user.id, Category.REMINDERS, Channel.SMS)
    assert is_wanted(user.id, Category.REMINDERS, Channel.EMAIL)
    [change] = db.session.scalars(sa.select(NotificationPreferenceChange)).all()
    assert change.changed_by_id == user.id
    page = client.get("/account/notifications").get_data(as_text=True)
    assert 'name="reminders_sms" type="checkbox" value="y">' in page


def test_settings_page_needs_a_login(client):
    response = client.get("/account/notifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_settings_page_is_for_patients_only(form_post, client):
    clinic = factories.make_clinic()
    for user in (factories.make_practitioner().user, factories.make_staff(clinic=clinic),
                 factories.make_staff(role=factories.Role.ADMIN)):
        log_in(form_post, user)
        assert client.get("/account/notifications").status_code == 403
        form_post("/logout", {}, page="/account")


def test_settings_post_without_csrf_is_refused(form_post, client):
    user = factories.make_patient().account
    log_in(form_post, user)
    assert client.post("/account/notifications", data={}).status_code == 400
    assert is_wanted(user.id, Category.REMINDERS, Channel.EMAIL)
