"""Email address confirmation pages: from sign-up to the link, and a new link on demand."""

import re

import sqlalchemy as sa

from tests import factories
from tests.notifications.factories import outbox
from tests.pages import log_in_with as log_in
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.notifications.models import Category
from webapp.notifications.sender import send_due_notifications
from webapp.notifications.services import open_email


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
