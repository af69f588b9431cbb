"""Changing one's email address: the current password, a link to the new address,
a notice to the old one; nothing tells who else has an account."""

import re

import pytest
import sqlalchemy as sa

from tests import factories
from tests.notifications.factories import outbox
from webapp.accounts import email_changes, password_changes
from webapp.accounts.errors import InvalidAccountData, WrongPassword
from webapp.accounts.models import User
from webapp.audit.models import AuditEvent
from webapp.extensions import db
from webapp.notifications.services import open_email
from webapp.transaction import transaction

pytestmark = pytest.mark.usefixtures("in_request")  # services run inside a request


def mails() -> dict[str, object]:
    return {content.to: content for content in map(open_email, outbox())}


def change_link(content) -> str:
    return re.search(r"http://carnet\.test(/account/email/change/\S+)", content.text).group(1)


def reloaded(user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_the_link_to_the_new_address_moves_the_account_and_the_old_one_is_told(client, log_in, form_post):
    user = log_in(factories.make_patient().account)
    old = user.email
    form_post("/account/email/change", {"email": "Nouvelle@Example.com", "current_password": factories.PASSWORD})
    sent = mails()
    assert set(sent) == {"nouvelle@example.com", old}
    assert sent[old].subject == "L’adresse e-mail de votre compte Carnet va changer"
    assert reloaded(user).email == old  # nothing moves before the new address answers
    link = change_link(sent["nouvelle@example.com"])
    assert "Utiliser cette adresse" in client.get(link).get_data(as_text=True)  # opening it changes nothing
    assert reloaded(user).email == old
    done = form_post(link, {}, follow_redirects=True)
    assert "votre compte utilise désormais nouvelle@example.com" in done.get_data(as_text=True)
    moved = reloaded(user)
    assert moved.email == "nouvelle@example.com" and moved.email_confirmed_at is not None
    assert moved.patient_profile.email == "nouvelle@example.com"  # what the practices see follows
    assert "pas valide ou a expiré" in form_post(link, {}).get_data(as_text=True)  # used once
    assert [action for action in db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.action.like("email.%")).order_by(AuditEvent.id))] == ["email.change_requested", "email.changed"]


def test_a_taken_address_gets_the_same_answer_and_no_link():
    user, other = factories.make_patient().account, factories.make_patient().account
    with transaction():
        email_changes.request_email_change(user, current_password=factories.PASSWORD, new_email=other.email)
    assert set(mails()) == {user.email}  # only the notice: the other account's owner hears nothing


def test_a_wrong_password_or_the_same_address_is_refused_and_nothing_is_sent():
    user = factories.make_patient().account
    with pytest.raises(WrongPassword) as refused, transaction():
        email_changes.request_email_change(user, current_password="pas-le-bon", new_email="autre@example.com")
    assert list(refused.value.fields) == ["current_password"]
    assert reloaded(user).failed_login_count == 1
    with pytest.raises(InvalidAccountData) as same, transaction():
        email_changes.request_email_change(user, current_password=factories.PASSWORD, new_email=user.email.upper())
    assert list(same.value.fields) == ["email"]
    assert outbox() == []


def test_changing_the_password_cancels_a_move_asked_by_someone_else(form_post):
    user = factories.make_patient().account
    with transaction():
        email_changes.request_email_change(user, current_password=factories.PASSWORD,
                                           new_email="intrus@example.com")
    link = change_link(mails()["intrus@example.com"])
    with transaction():
        password_changes.change_password(user, "une-autre-phrase-2026")
    assert "pas valide ou a expiré" in form_post(link, {}).get_data(as_text=True)
    assert reloaded(user).email != "intrus@example.com"


def test_an_address_taken_meanwhile_is_refused_at_the_link(form_post):
    user = factories.make_patient().account
    with transaction():
        email_changes.request_email_change(user, current_password=factories.PASSWORD,
                                           new_email="convoitee@example.com")
    link = change_link(mails()["convoitee@example.com"])
    factories.make_patient(user_overrides={"email": "convoitee@example.com"})
    assert "Un autre compte utilise désormais cette adresse." in form_post(link, {}).get_data(as_text=True)
    assert reloaded(user).email != "convoitee@example.com"


def test_the_change_page_needs_a_login(client):
    assert client.get("/account/email/change").status_code == 302
