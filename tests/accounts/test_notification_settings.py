"""Notification settings offer only what the account can receive: SMS need a
mobile number, email choices a confirmed address."""

import pytest

from tests import factories
from webapp.accounts.notification_settings import set_notification_choices
from webapp.db import now_utc
from webapp.errors import InvalidInput
from webapp.extensions import db
from webapp.notifications.models import Category, Channel
from webapp.notifications.services import is_wanted

ALL_ON = {f"{category}_{channel}": "y" for category in Category if category.can_be_turned_off for channel in Channel}


def html(response) -> str:
    return response.get_data(as_text=True)


def confirmed(**profile) -> factories.User:
    return factories.make_patient(user_overrides={"email_confirmed_at": now_utc()}, **profile).account


def test_without_a_phone_sms_choices_are_disabled_and_explained(client, log_in, form_post):
    user = log_in(confirmed())
    page = html(client.get("/account/notifications"))
    assert "Aucun numéro de mobile sur votre profil" in page and 'href="/account/profile"' in page
    assert 'aria-describedby="sms-unavailable" disabled id="reminders_sms"' in page
    assert 'id="reminders_sms" name="reminders_sms" type="checkbox" value="y">' in page  # shown off
    assert 'id="reminders_email" name="reminders_email" type="checkbox" value="y">' in page
    # Email choices still work; the SMS settings are left as they are.
    fields = dict(ALL_ON)
    del fields["reminders_email"]
    response = form_post("/account/notifications", fields, follow_redirects=True)
    assert "Vos préférences de notification sont enregistrées" in html(response)
    assert not is_wanted(user.id, Category.REMINDERS, Channel.EMAIL)
    assert is_wanted(user.id, Category.REMINDERS, Channel.SMS)


def test_a_landline_cannot_receive_sms(client, log_in):
    log_in(confirmed(phone="+33142000000"))
    page = html(client.get("/account/notifications"))
    assert "Le 01 42 00 00 00 est un numéro fixe" in page
    assert 'aria-describedby="sms-unavailable" disabled id="reminders_sms"' in page


def test_with_a_mobile_sms_choices_are_open(client, log_in, form_post):
    user = log_in(confirmed(phone="+33612345678"))
    page = html(client.get("/account/notifications"))
    assert "sms-unavailable" not in page and "email-unavailable" not in page
    assert 'checked id="reminders_sms"' in page
    fields = dict(ALL_ON)
    del fields["reminders_sms"]
    assert form_post("/account/notifications", fields).status_code == 302
    assert not is_wanted(user.id, Category.REMINDERS, Channel.SMS)


def test_email_choices_need_a_confirmed_address(client, log_in, form_post):
    user = log_in(factories.make_patient(phone="+33612345678").account)
    page = html(client.get("/account/notifications"))
    assert "Votre adresse e-mail n&#39;est pas encore confirmée" in page
    assert 'href="/account/email"' in page
    assert 'aria-describedby="email-unavailable" checked disabled id="reminders_email"' in page
    fields = dict(ALL_ON)
    del fields["reminders_email"]  # a forged post cannot change the email settings either
    assert form_post("/account/notifications", fields).status_code == 302
    assert is_wanted(user.id, Category.REMINDERS, Channel.EMAIL)


def test_the_service_refuses_to_turn_on_a_channel_the_account_cannot_receive(app):
    user = confirmed()
    with app.test_request_context():
        set_notification_choices(user, {(Category.REMINDERS, Channel.SMS): False}, by=user)
        db.session.commit()
        with pytest.raises(InvalidInput) as refused:
            set_notification_choices(user, {(Category.REMINDERS, Channel.SMS): True}, by=user)
    assert refused.value.code == "channel_unavailable"
    db.session.rollback()
    assert not is_wanted(user.id, Category.REMINDERS, Channel.SMS)


def test_adding_a_mobile_on_the_profile_opens_the_sms_choices(client, log_in, form_post):
    patient = factories.make_patient(user_overrides={"email_confirmed_at": now_utc()})
    log_in(patient.account)
    form_post("/account/profile", {"first_name": patient.first_name, "last_name": patient.last_name,
                                   "birth_date": patient.birth_date.isoformat(), "phone": "06 12 34 56 78"})
    page = html(client.get("/account/notifications"))
    assert "sms-unavailable" not in page and 'checked id="reminders_sms"' in page
