"""Proxies: the owner removes any, a proxy removes itself, anyone else is not found; removal ends access."""

import datetime as dt

import pytest

from tests import factories
from tests.audit.factories import log_in, recorded_events
from tests.notifications.factories import outbox
from webapp.accounts import proxies
from webapp.accounts.models import PatientProxy
from webapp.accounts.relatives import can_act_for_patient
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.notebook import controls, exports, reading
from webapp.notifications.services import open_email
from webapp.transaction import transaction


@pytest.fixture
def family():
    """Léo, an adult with his own account, whom his mother still acts for."""
    leo = factories.make_patient(first_name="Léo", birth_date=dt.date(2000, 2, 3),
                                 user_overrides={"email": "leo@example.org"})
    mother = factories.make_patient(first_name="Anne", last_name="Roux", user_overrides={"email": "anne@example.org"})
    db.session.add(PatientProxy(user_id=mother.account.id, patient_id=leo.id))
    db.session.commit()
    return leo, mother.account


def _remove(by, patient_id, account_id):
    with transaction():
        proxies.remove_proxy(by, patient_id, account_id)


def _is_proxy(user, patient) -> bool:
    db.session.expire_all()
    return db.session.get(PatientProxy, (user.id, patient.id)) is not None


def test_the_owner_and_the_proxy_see_who_acts_for_the_profile(family):
    leo, mother = family
    for user in (leo.account, mother):
        [proxy] = proxies.list_proxies(user, leo.id)
        assert proxy.account_id == mother.id and proxy.name == "Anne Roux"


def test_the_owner_removes_a_proxy_who_is_told_and_it_is_audited(family):
    leo, mother = family
    _remove(leo.account, leo.id, mother.id)
    assert not _is_proxy(mother, leo) and not can_act_for_patient(mother, leo.id)
    [row] = outbox()
    assert open_email(row).to == "anne@example.org" and "Léo" in open_email(row).subject
    [event] = recorded_events("patient_proxy.removed")
    assert event.actor_id == leo.account.id and event.target_id == str(leo.id)
    assert event.details == {"account_id": mother.id, "by": "owner"}


def test_a_proxy_removes_itself_and_the_owner_is_told(family):
    leo, mother = family
    _remove(mother, leo.id, mother.id)
    assert not _is_proxy(mother, leo)
    [row] = outbox()
    assert open_email(row).to == "leo@example.org" and "Anne Roux" in open_email(row).subject


def test_a_proxy_cannot_remove_another_proxy(family):
    leo, mother = family
    father = factories.make_patient(user_overrides={"email": "paul@example.org"}).account
    db.session.add(PatientProxy(user_id=father.id, patient_id=leo.id))
    db.session.commit()
    with pytest.raises(NotFound):
        _remove(father, leo.id, mother.id)
    assert _is_proxy(mother, leo)


@pytest.mark.parametrize("who", ["patient", "practitioner", "staff"])
def test_anyone_else_is_not_found(family, who):
    leo, mother = family
    other = {"patient": lambda: factories.make_patient().account,
             "practitioner": lambda: factories.make_practitioner().user,
             "staff": lambda: factories.make_staff(clinic=factories.make_clinic())}[who]()
    with pytest.raises(NotFound):
        proxies.list_proxies(other, leo.id)
    with pytest.raises(NotFound):
        _remove(other, leo.id, mother.id)
    assert _is_proxy(mother, leo) and outbox() == [] and recorded_events("patient_proxy.removed") == []


def test_removing_an_account_that_is_not_a_proxy_is_not_found(family):
    leo, mother = family
    with pytest.raises(NotFound):
        _remove(leo.account, leo.id, leo.account.id + 1000)


def test_a_former_proxy_no_longer_reads_exports_or_changes_sharing(family):
    leo, mother = family
    assert reading.list_entries(mother, leo.id)["total"] == 0  # acting for him until now
    _remove(leo.account, leo.id, mother.id)
    db.session.expire_all()
    for attempt in (lambda: reading.list_entries(mother, leo.id),
                    lambda: exports.export_notebook(mother, leo.id, "fhir"),
                    lambda: controls.set_sharing(mother, leo.id, [])):
        with pytest.raises(NotFound):
            attempt()


# --- API -----------------------------------------------------------------------------------------

def test_api_lists_and_removes_proxies(client, api_token, family):
    leo, mother = family
    response = client.get(f"/api/v1/patients/{leo.id}/proxies", headers=api_token(leo.account))
    assert response.status_code == 200
    [item] = response.json["items"]
    assert item["account_id"] == mother.id and item["name"] == "Anne Roux" and item["since"].endswith("+00:00")
    response = client.delete(f"/api/v1/patients/{leo.id}/proxies/{mother.id}", headers=api_token(leo.account))
    assert response.status_code == 204 and not _is_proxy(mother, leo)


def test_api_a_former_proxy_gets_404_everywhere(client, api_token, family):
    leo, mother = family
    headers = api_token(mother)
    assert client.get(f"/api/v1/patients/{leo.id}/notebook/entries", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/patients/{leo.id}/proxies/{mother.id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/patients/{leo.id}/notebook/entries", headers=headers).status_code == 404
    assert client.get(f"/api/v1/patients/{leo.id}/notebook/export?format=fhir", headers=headers).status_code == 404
    response = client.put(f"/api/v1/patients/{leo.id}/notebook/sharing", headers=headers,
                          json={"revoked_practitioner_ids": []})
    assert response.status_code == 404
    assert client.get(f"/api/v1/patients/{leo.id}/proxies", headers=headers).status_code == 404


def test_api_a_third_party_gets_404(client, api_token, family):
    leo, mother = family
    headers = api_token(factories.make_patient().account)
    assert client.get(f"/api/v1/patients/{leo.id}/proxies", headers=headers).status_code == 404
    assert client.delete(f"/api/v1/patients/{leo.id}/proxies/{mother.id}", headers=headers).status_code == 404
    assert _is_proxy(mother, leo)


# --- The account page ----------------------------------------------------------------------------

def test_the_account_page_lists_proxies_and_removes_one(client, form_post, family):
    leo, mother = family
    log_in(form_post, leo.account)
    page = client.get("/account").get_data(as_text=True)
    assert "Qui agit pour moi" in page and "Anne Roux" in page
    url = f"/account/profiles/{leo.id}/proxies/{mother.id}/remove"
    assert client.post(url, data={}).status_code == 400 and _is_proxy(mother, leo)  # no CSRF token: refused
    response = form_post(url, {}, page="/account", follow_redirects=True)
    assert response.status_code == 200 and not _is_proxy(mother, leo)


def test_the_account_page_lets_a_proxy_stop_acting(client, form_post, family):
    leo, mother = family
    log_in(form_post, mother)
    assert "Ne plus agir pour Léo" in client.get("/account").get_data(as_text=True)
    form_post(f"/account/profiles/{leo.id}/proxies/{mother.id}/remove", {}, page="/account")
    assert not _is_proxy(mother, leo)


def test_the_account_page_refuses_a_third_party(client, form_post, family):
    leo, mother = family
    log_in(form_post, factories.make_patient().account)
    response = form_post(f"/account/profiles/{leo.id}/proxies/{mother.id}/remove", {}, page="/account")
    assert response.status_code == 404 and _is_proxy(mother, leo)
