"""Privacy pages: overview, download behind re-authentication, closing with a confirmation step."""

import io
import zipfile

import pytest

from tests import factories
from tests.audit.factories import log_in, recorded_actions
from tests.booking.factories import local_start, make_appointment
from tests.conftest import csrf_token_of
from tests.privacy.factories import make_household
from webapp.accounts.models import Role


def _reauthenticate(form_post):
    return form_post("/account/confirm", {"password": factories.PASSWORD})


def test_overview_links_download_and_closing(client, form_post):
    log_in(form_post, make_household().account)
    html = client.get("/account/privacy").get_data(as_text=True)
    assert "Télécharger mes données" in html and "/account/close" in html
    assert "/account/privacy" in client.get("/account").get_data(as_text=True)


def test_download_asks_for_the_password_first(client, form_post):
    log_in(form_post, make_household().account)
    response = client.get("/account/privacy/export")
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/confirm")
    _reauthenticate(form_post)
    response = client.get("/account/privacy/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert "notebook_access_log.json" in archive.namelist()
    assert recorded_actions()[-1] == "privacy.exported"


def test_closing_needs_the_confirmation_box(client, form_post):
    household = make_household()
    log_in(form_post, household.account)
    assert client.get("/account/close").headers["Location"].startswith("/account/confirm")
    _reauthenticate(form_post)
    refused = form_post("/account/close", {})
    assert refused.status_code == 200 and "Cochez la case pour confirmer." in refused.get_data(as_text=True)
    assert "privacy.account_closed" not in recorded_actions()


def test_closing_logs_out_and_ends_the_session(client, form_post):
    household = make_household()
    log_in(form_post, household.account)
    _reauthenticate(form_post)
    response = form_post("/account/close", {"confirm": "y"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/account").headers["Location"].startswith("/login")
    assert "privacy.account_closed" in recorded_actions()


def test_a_session_on_another_device_ends_when_the_account_closes(app, form_post):
    household = make_household()
    other_device = app.test_client()
    html = other_device.get("/login").get_data(as_text=True)
    other_device.post("/login", data={"email": household.account.email, "password": factories.PASSWORD,
                                      "csrf_token": csrf_token_of(html)})
    assert other_device.get("/account").status_code == 200
    log_in(form_post, household.account)
    _reauthenticate(form_post)
    form_post("/account/close", {"confirm": "y"})
    assert other_device.get("/account").status_code == 302


def test_upcoming_appointments_are_shown_and_block_closing(client, form_post):
    household = make_household()
    make_appointment(household.practitioner, household.own, local_start(6))
    log_in(form_post, household.account)
    _reauthenticate(form_post)
    assert "1 rendez-vous à venir" in client.get("/account/close").get_data(as_text=True)
    refused = form_post("/account/close", {"confirm": "y"})
    assert refused.status_code == 200 and "Annulez vos rendez-vous à venir" in refused.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.STAFF, Role.ADMIN])
def test_other_roles_get_403(client, form_post, role):
    user = factories.make_practitioner().user if role is Role.PRACTITIONER else factories.make_staff(role=role)
    log_in(form_post, user)
    for url in ("/account/privacy", "/account/privacy/export", "/account/close"):
        assert client.get(url).status_code == 403


def test_anonymous_is_sent_to_login(client):
    for url in ("/account/privacy", "/account/privacy/export", "/account/close"):
        assert client.get(url).headers["Location"].startswith("/login")
