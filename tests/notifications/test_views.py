"""Notification pages: a patient's settings, email confirmation from sign-up to the link."""

import re

import sqlalchemy as sa

from tests import factories
from tests.notifications.factories import outbox
from webapp.accounts.models import User
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notifications.models import Category, Channel, NotificationPreferenceChange
from webapp.notifications.sender import send_due_notifications
from webapp.notifications.services import is_wanted, open_email


def log_in(form_post, user):
    response = form_post("/login", {"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    if user.role.requires_totp:
        assert form_post("/login/code", {"code": factories.totp_now(user)}).status_code == 302


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
    assert 'name="reminders_sms" type="checkbox" value="y">' in client.get("/account/notifications").get_data(as_text=True)


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


def test_signup_sends_a_confirmation_link_that_confirms_the_address(form_post, client):
    form_post("/signup/patient", {"first_name": "Marie", "last_name": "Lambert", "birth_date": "1986-04-12",
                                  "email": "marie@example.com", "password": "une-phrase-2026"})
    [row] = outbox()
    assert row.category is Category.SECURITY
    content = open_email(row)
    assert content.to == "marie@example.com" and content.subject == "Confirmez votre adresse e-mail"
    link = re.search(r"http://carnet\.test(/account/email/\S+)", content.text).group(1)

    page = client.get(link)  # opening the link (or a mail scanner) confirms nothing yet
    assert page.status_code == 200 and "Confirmer mon adresse" in page.get_data(as_text=True)
    user = db.session.scalar(sa.select(User).filter_by(email="marie@example.com"))
    assert user.email_confirmed_at is None

    response = form_post(link, {}, follow_redirects=True)
    assert "votre adresse e-mail est confirmée" in response.get_data(as_text=True)
    db.session.expire_all()
    assert user.email_confirmed_at is not None


def test_api_signup_also_sends_the_confirmation(client):
    response = client.post("/api/v1/accounts", json={
        "role": "patient", "email": "api@example.com", "password": "une-phrase-2026",
        "first_name": "Api", "last_name": "Patient", "birth_date": "1990-01-01"})
    assert response.status_code == 201
    assert [open_email(row).to for row in outbox()] == ["api@example.com"]


def test_a_forged_confirmation_link_is_refused(form_post):
    response = form_post("/account/email/not-a-token", {})
    assert response.status_code == 200
    assert "Ce lien de confirmation est invalide ou a expiré." in response.get_data(as_text=True)


def test_a_link_for_a_previous_address_does_not_confirm_the_new_one(form_post, client):
    form_post("/signup/patient", {"first_name": "Marie", "last_name": "Lambert", "birth_date": "1986-04-12",
                                  "email": "old@example.com", "password": "une-phrase-2026"})
    link = re.search(r"http://carnet\.test(/account/email/\S+)", open_email(outbox()[0]).text).group(1)
    user = db.session.scalar(sa.select(User).filter_by(email="old@example.com"))
    user.email = "new@example.com"
    db.session.commit()
    assert "invalide ou a expiré" in form_post(link, {}).get_data(as_text=True)
    db.session.expire_all()
    assert user.email_confirmed_at is None


def test_resend_the_confirmation_link(form_post, client):
    user = factories.make_patient().account
    log_in(form_post, user)
    assert "pas encore confirmée" in client.get("/account/email").get_data(as_text=True)
    form_post("/account/email", {})
    assert [open_email(row).to for row in outbox()] == [user.email]
    assert send_due_notifications().sent == 1


def test_resend_needs_a_login(client):
    assert client.get("/account/email").status_code == 302
