"""Verification on the pages: the banner of a pending practitioner, the back office's list and decisions."""

import pytest

from tests import factories
from tests.audit.factories import log_in, recorded_events
from tests.conftest import csrf_token_of
from tests.notifications.factories import outbox
from webapp.accounts.models import Role, Verification
from webapp.demo import DIRECTORY_SAMPLE
from webapp.extensions import db

LIST = "/backoffice/practitioners"


@pytest.fixture
def admin(form_post):
    user = factories.make_staff(role=Role.ADMIN)
    log_in(form_post, user)
    return user


def _decide(client, practitioner, action: str, data: dict):
    """Post a decision form of the list page, as the browser does (the fields carry the practitioner's prefix)."""
    token = csrf_token_of(client.get(LIST).get_data(as_text=True))
    prefix = f"{action}-{practitioner.id}-"
    fields = {prefix + name: value for name, value in data.items()} | {prefix + "csrf_token": token}
    return client.post(f"{LIST}/{practitioner.id}/{action}", data=fields)


def test_a_pending_practitioner_sees_the_banner_and_no_desk_in_the_menu(client, form_post):
    pending = factories.make_practitioner(verification="pending")
    log_in(form_post, pending.user)
    settings = client.get("/settings/booking")
    html = settings.get_data(as_text=True)
    assert settings.status_code == 200
    assert "Votre compte est en attente de vérification." in html
    for desk_page in ("/agenda", "/agenda/book", "/practitioner/patients"):
        assert f'href="{desk_page}"' not in html
    account = client.get("/account").get_data(as_text=True)
    assert "le numéro RPPS seul ne prouve rien" in account


def test_a_pending_practitioner_gets_a_clear_refusal_on_desk_and_notebook_pages(client, form_post):
    pending = factories.make_practitioner(verification="pending")
    patient = factories.make_patient()
    log_in(form_post, pending.user)
    for url in ("/agenda", "/agenda/book", "/agenda/patients/new", "/practitioner/patients",
                f"/patients/{patient.id}/notebook"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "pas encore vérifié" in response.get_data(as_text=True), url


def test_a_rejected_practitioner_reads_why_on_the_account_page(client, form_post):
    rejected = factories.make_practitioner(verification="rejected")
    log_in(form_post, rejected.user)
    html = client.get("/account").get_data(as_text=True)
    assert "Votre compte de praticien n'a pas été vérifié." in html
    assert rejected.rejection_reason.replace("'", "&#39;") in html


def test_a_verified_practitioner_has_no_banner(client, form_post):
    verified = factories.make_practitioner()
    log_in(form_post, verified.user)
    html = client.get("/agenda").get_data(as_text=True)
    assert "en attente de vérification" not in html and 'href="/agenda/book"' in html


@pytest.mark.parametrize("role", ["patient", "practitioner", "staff"])
def test_back_office_pages_refuse_everyone_but_admins(client, form_post, role):
    user = {"patient": lambda: factories.make_patient().account,
            "practitioner": lambda: factories.make_practitioner().user,
            "staff": lambda: factories.make_staff(clinic=factories.make_clinic())}[role]()
    pending = factories.make_practitioner(verification="pending")
    log_in(form_post, user)
    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}/{pending.id}").status_code == 403
    token = csrf_token_of(client.get("/account").get_data(as_text=True))
    assert client.post(f"{LIST}/{pending.id}/verify", data={
        f"verify-{pending.id}-method": "document", f"verify-{pending.id}-csrf_token": token}).status_code == 403
    db.session.refresh(pending)
    assert pending.verification is Verification.PENDING


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get(LIST)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_list_shows_each_pending_practitioner_with_the_directory_comparison(app, client, admin):
    app.test_cli_runner().invoke(args=["directory", "import", str(DIRECTORY_SAMPLE)])
    factories.make_practitioner(first_name="Bastien", last_name="Lemoine", rpps="99700001011",
                                specialty="cardiologist", verification="pending")
    factories.make_practitioner(first_name="Paul", last_name="Inconnu", verification="pending")
    html = client.get(LIST).get_data(as_text=True)
    assert "2 praticiens" in html and "Annuaire RPPS importé le" in html
    assert "Sébastien" in html and "diffère" in html and "concorde" in html and "CHU DE BORDEAUX" in html
    assert "n'est pas dans l'annuaire importé" in html
    assert 'name="verify-' in html and 'name="reject-' in html
    assert "Praticiens à vérifier" in html  # the admin's menu


def test_the_back_office_verifies_from_the_list(app, client, admin):
    app.test_cli_runner().invoke(args=["directory", "import", str(DIRECTORY_SAMPLE)])
    haddad = factories.make_practitioner(first_name="Nadia", last_name="Haddad", rpps="99700001003",
                                         verification="pending")
    response = _decide(client, haddad, "verify", {"method": "directory", "note": "Annuaire concordant"})
    assert response.status_code == 302 and response.headers["Location"].endswith(LIST)
    db.session.refresh(haddad)
    assert haddad.is_verified and haddad.verification_note == "Annuaire concordant"
    assert [e.actor_id for e in recorded_events("practitioner.verified")] == [admin.id]
    assert [mail.key.split(":")[0] for mail in outbox(user_id=haddad.user_id)] == ["practitioner-verified"]
    assert "Le compte de Nadia Haddad est vérifié" in client.get(LIST).get_data(as_text=True)


def test_a_directory_mismatch_is_shown_above_the_form_and_changes_nothing(app, client, admin):
    app.test_cli_runner().invoke(args=["directory", "import", str(DIRECTORY_SAMPLE)])
    lemoine = factories.make_practitioner(first_name="Bastien", last_name="Lemoine", rpps="99700001011",
                                          verification="pending")
    response = _decide(client, lemoine, "verify", {"method": "directory"})
    assert response.status_code == 422
    assert "ne correspondent à aucune fiche active" in response.get_data(as_text=True)
    db.session.refresh(lemoine)
    assert lemoine.verification is Verification.PENDING and outbox() == []


def test_a_rejection_needs_a_reason_next_to_its_field(client, admin):
    pending = factories.make_practitioner(verification="pending")
    missing = _decide(client, pending, "reject", {"reason": ""})
    assert missing.status_code == 422
    assert f'id="reject-{pending.id}-reason-error"' in missing.get_data(as_text=True)
    done = _decide(client, pending, "reject", {"reason": "Aucune inscription à l'Ordre."})
    assert done.status_code == 302
    db.session.refresh(pending)
    assert pending.verification is Verification.REJECTED
    assert [mail.key.split(":")[0] for mail in outbox(user_id=pending.user_id)] == ["practitioner-rejected"]
    rejected_list = client.get(f"{LIST}?verification=rejected").get_data(as_text=True)
    assert "Aucune inscription à l&#39;Ordre." in rejected_list and "Vérifier" in rejected_list
