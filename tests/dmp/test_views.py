"""The shared-record page: INS and consent forms for the patient side and those who qualify."""

import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import log_in
from tests.conftest import csrf_token_of
from tests.dmp.factories import (
    CORSICAN_NIR,
    MOTHERS_NIR,
    VALID_NIR,
    WRONG_KEY_NIR,
    pushable_patient,
    set_identity,
    write,
)
from tests.notebook.factories import make_treating_practitioner
from webapp.db import now_utc
from webapp.dmp import outbox
from webapp.dmp.models import ConsentRecord, IdentityStatus, PatientIdentity
from webapp.extensions import db


def _identity(patient):
    db.session.expire_all()
    return db.session.get(PatientIdentity, patient.id)


def test_the_patient_records_a_provisional_ins_and_consents(dmp, dmp_client, dmp_form_post):
    patient = factories.make_patient()
    log_in(dmp_form_post, patient.account)
    url = f"/patients/{patient.id}/shared-record"
    html = dmp_client.get(url).get_data(as_text=True)
    assert 'value="qualified"' not in html and 'value="validated"' not in html and "IHE MHD / PDSm" in html
    response = dmp_form_post(f"{url}/identity", {"ins": VALID_NIR, "status": "provisional"}, page=url)
    assert response.status_code == 302
    assert _identity(patient).status is IdentityStatus.PROVISIONAL
    assert dmp_form_post(f"{url}/consent", {"consent": "yes"}, page=url).status_code == 302
    assert db.session.scalar(sa.select(ConsentRecord.consent)) is True
    assert "Retirer mon consentement" in dmp_client.get(url).get_data(as_text=True)


def test_a_wrong_key_is_shown_next_to_the_field(dmp, dmp_client, dmp_form_post):
    patient = factories.make_patient()
    log_in(dmp_form_post, patient.account)
    url = f"/patients/{patient.id}/shared-record"
    response = dmp_form_post(f"{url}/identity", {"ins": WRONG_KEY_NIR, "status": "provisional"}, page=url)
    assert response.status_code == 422
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert _identity(patient) is None


@pytest.mark.parametrize("status", ["validated", "qualified"])
def test_a_patient_cannot_post_validated_or_qualified(dmp, dmp_form_post, status):
    patient = factories.make_patient()
    log_in(dmp_form_post, patient.account)
    url = f"/patients/{patient.id}/shared-record"
    response = dmp_form_post(f"{url}/identity", {"ins": VALID_NIR, "status": status}, page=url)
    assert response.status_code == 422  # not one of the offered choices
    assert _identity(patient) is None


def test_a_treating_practitioner_validates_but_cannot_consent(dmp, dmp_client, dmp_form_post):
    patient = factories.make_patient()
    practitioner = make_treating_practitioner(patient)
    set_identity(patient, status=IdentityStatus.PROVISIONAL)
    log_in(dmp_form_post, practitioner.user)
    url = f"/patients/{patient.id}/shared-record"
    html = dmp_client.get(url).get_data(as_text=True)
    assert 'value="validated"' in html and 'value="qualified"' not in html and "/shared-record/consent" not in html
    assert dmp_form_post(f"{url}/identity", {"ins": CORSICAN_NIR, "status": "qualified"}, page=url).status_code == 422
    response = dmp_form_post(f"{url}/identity", {"ins": CORSICAN_NIR, "status": "validated"}, page=url)
    assert response.status_code == 302
    assert _identity(patient).status is IdentityStatus.VALIDATED
    assert dmp_form_post(f"{url}/consent", {"consent": "yes"}, page=url).status_code == 403


def test_a_parents_nir_is_shown_as_a_traits_mismatch(dmp, dmp_client, dmp_form_post):
    patient = factories.make_patient()
    log_in(dmp_form_post, patient.account)
    url = f"/patients/{patient.id}/shared-record"
    response = dmp_form_post(f"{url}/identity", {"ins": MOTHERS_NIR, "status": "provisional"}, page=url)
    assert response.status_code == 422
    assert "Vitale" in response.get_data(as_text=True)  # the mismatch message, next to the INS field
    assert _identity(patient) is None


def test_anyone_else_gets_404(dmp, dmp_client, dmp_form_post):
    patient = factories.make_patient()
    log_in(dmp_form_post, factories.make_practitioner().user)
    assert dmp_client.get(f"/patients/{patient.id}/shared-record").status_code == 404


def test_the_notebook_shows_each_pushed_entrys_status_to_patient_and_practitioner(dmp, dmp_app, recipient):
    patient, practitioner = pushable_patient()
    entry = write(practitioner.user, patient)
    outbox.push_pending_documents(now_utc())
    for user in (patient.account, practitioner.user):
        client = dmp_app.test_client()

        def form_post(url, data, *, page=None, client=client):
            return client.post(url, data={**data, "csrf_token": csrf_token_of(client.get(page or url).get_data(
                as_text=True))})

        log_in(form_post, user)
        html = client.get(f"/patients/{patient.id}/notebook/entries/{entry.id}").get_data(as_text=True)
        assert "Dossier de santé partagé : envoyé" in html


def test_a_treating_practitioner_asks_insi_from_the_page(dmp, dmp_client, dmp_form_post, insi):
    patient = factories.make_patient(last_name="Lefèvre")
    practitioner = make_treating_practitioner(patient)
    set_identity(patient, status=IdentityStatus.VALIDATED, by=practitioner.user)
    insi.register[VALID_NIR] = {"birth_name": "LEFEVRE", "first_names": "MARIE", "birth_date": "1985-03-14",
                                "sex": "F"}
    log_in(dmp_form_post, practitioner.user)
    url = f"/patients/{patient.id}/shared-record"
    assert "/shared-record/insi" in dmp_client.get(url).get_data(as_text=True)
    response = dmp_form_post(f"{url}/insi", {}, page=url)
    assert response.status_code == 302
    assert _identity(patient).status is IdentityStatus.QUALIFIED
    assert "/shared-record/insi" not in dmp_client.get(url).get_data(as_text=True)


def test_an_insi_refusal_is_shown_and_changes_nothing(dmp, dmp_client, dmp_form_post, insi):
    patient = factories.make_patient()
    practitioner = make_treating_practitioner(patient)
    set_identity(patient, status=IdentityStatus.VALIDATED, by=practitioner.user)
    log_in(dmp_form_post, practitioner.user)
    url = f"/patients/{patient.id}/shared-record"
    response = dmp_form_post(f"{url}/insi", {}, page=url)
    assert response.status_code == 302
    assert "n&#39;a trouvé aucune identité" in dmp_client.get(url).get_data(as_text=True).replace("'", "&#39;")
    assert _identity(patient).status is IdentityStatus.VALIDATED


def test_without_insi_the_page_says_the_ins_cannot_be_qualified(dmp, dmp_client, dmp_form_post):
    patient = factories.make_patient()
    practitioner = make_treating_practitioner(patient)
    set_identity(patient, status=IdentityStatus.VALIDATED, by=practitioner.user)
    log_in(dmp_form_post, practitioner.user)
    html = dmp_client.get(f"/patients/{patient.id}/shared-record").get_data(as_text=True)
    assert "/shared-record/insi" not in html and "INSi" in html
