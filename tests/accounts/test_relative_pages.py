"""Relatives on the website, from the account page: list, add, edit, give them
their own account; and what another account, or a wrong moment, is refused."""


from tests import factories
from tests.notifications.factories import outbox
from webapp.accounts.models import PatientProfile, PatientProxy
from webapp.extensions import db
from webapp.invitations.models import PatientInvitation
from webapp.notifications.services import open_email


def html(response) -> str:
    return response.get_data(as_text=True)


def test_a_parent_adds_edits_and_gives_a_child_their_own_account(client, log_in, form_post):
    parent = factories.make_patient(first_name="Marie", last_name="Lambert")
    log_in(parent.account)
    response = form_post("/account/relatives", {"first_name": "Léo", "last_name": "Lambert",
                                                "birth_date": "2008-02-01"}, page="/account", follow_redirects=True)
    assert "Léo est ajouté(e) à votre compte" in html(response)
    leo = db.session.query(PatientProfile).filter_by(first_name="Léo").one()
    assert db.session.get(PatientProxy, (parent.account.id, leo.id)) is not None
    account = html(client.get("/account"))
    assert "Léo Lambert" in account and f'href="/account/relatives/{leo.id}"' in account
    form_post(f"/account/relatives/{leo.id}", {"first_name": "Léo", "last_name": "Lambert-Roux",
                                              "birth_date": "2008-02-01", "phone": "07 00 00 00 02"})
    db.session.expire_all()
    assert (leo.last_name, leo.phone) == ("Lambert-Roux", "+33700000002")
    give = f"/account/relatives/{leo.id}/own-account"
    assert "Donner à Léo son propre compte" in html(client.get(give))
    response = form_post(give, {"email": "leo@example.com"}, follow_redirects=True)
    assert "L’invitation est envoyée à leo@example.com" in html(response)
    assert db.session.query(PatientInvitation).filter_by(patient_id=leo.id).count() == 1
    assert any(open_email(row).to == "leo@example.com" for row in outbox())


def test_another_account_cannot_edit_or_give_away_my_relative(client, log_in, form_post):
    parent = factories.make_patient()
    child = factories.make_relative(parent.account, first_name="Jules")
    log_in(factories.make_patient().account)
    assert f"/account/relatives/{child.id}" not in html(client.get("/account"))
    for url in (f"/account/relatives/{child.id}", f"/account/relatives/{child.id}/own-account"):
        assert client.get(url).status_code == 404
    response = form_post(f"/account/relatives/{child.id}/own-account", {"email": "pirate@example.com"},
                         page="/account")
    assert response.status_code == 404
    assert db.session.query(PatientInvitation).count() == 0


def test_a_relative_with_their_own_account_is_neither_edited_nor_given_one_again(client, log_in):
    parent = factories.make_patient()
    grown_up = factories.make_patient(first_name="Léo")
    db.session.add(PatientProxy(user=parent.account, patient=grown_up))
    db.session.commit()
    log_in(parent.account)
    account = html(client.get("/account"))
    assert f'href="/account/relatives/{grown_up.id}/own-account"' not in account
    assert client.get(f"/account/relatives/{grown_up.id}").status_code == 403
    assert client.get(f"/account/relatives/{grown_up.id}/own-account").status_code == 404


def test_a_former_proxy_can_no_longer_edit_the_relative(client, log_in, form_post):
    parent = factories.make_patient()
    child = factories.make_relative(parent.account, first_name="Jules")
    log_in(parent.account)
    form_post(f"/account/profiles/{child.id}/proxies/{parent.account.id}/remove", {}, page="/account")
    assert client.get(f"/account/relatives/{child.id}").status_code == 404


def test_practitioners_have_no_relatives_pages(client, log_in, form_post):
    practitioner = factories.make_practitioner()
    log_in(practitioner.user)
    response = form_post("/account/relatives", {"first_name": "Léo", "last_name": "Roux", "birth_date": "2010-01-01"},
                         page="/account")
    assert response.status_code == 404
    assert db.session.query(PatientProfile).count() == 0
