"""Profile pages: a patient edits their profile and phone, and their relatives' profiles."""

import datetime as dt

import pytest

from tests import factories
from tests.dmp.factories import set_identity
from webapp.accounts.models import PatientProfile, PatientProxy
from webapp.audit.models import AuditEvent
from webapp.dmp.models import IdentityStatus
from webapp.extensions import db


def html(response) -> str:
    return response.get_data(as_text=True)


def reload(profile_id: int) -> PatientProfile:
    db.session.expire_all()
    return db.session.get(PatientProfile, profile_id)


def profile_data(profile, **changes) -> dict:
    return {"first_name": profile.first_name, "last_name": profile.last_name,
            "birth_date": profile.birth_date.isoformat(), "phone": ""} | changes


def test_patient_edits_names_birth_date_and_phone(client, log_in, form_post):
    patient = factories.make_patient(first_name="Marie", last_name="Lambert")
    log_in(patient.account)
    assert "Modifier mon profil" in html(client.get("/account"))
    page = html(client.get("/account/profile"))
    assert "Mon profil" in page and 'type="tel"' in page and 'autocomplete="tel"' in page
    response = form_post("/account/profile", profile_data(patient, first_name="Marie-Anne ", birth_date="1986-04-12",
                                                          phone="06 12 34 56 78"), follow_redirects=True)
    assert "Votre profil est enregistré" in html(response)
    saved = reload(patient.id)
    assert (saved.first_name, saved.birth_date, saved.phone) == ("Marie-Anne", dt.date(1986, 4, 12), "+33612345678")
    assert "06 12 34 56 78" in html(client.get("/account")) and "06 12 34 56 78" in html(client.get("/account/profile"))
    event = db.session.query(AuditEvent).filter_by(action="patient_profile.updated").one()
    assert event.details == {"fields": "first_name+birth_date+phone"} and event.actor_id == patient.account.id


def test_bad_phone_and_names_get_french_messages_and_nothing_is_written(client, log_in, form_post):
    patient = factories.make_patient(phone="+33612345678")
    log_in(patient.account)
    response = form_post("/account/profile", profile_data(patient, first_name="", phone="06 12 34"))
    page = html(response)
    assert response.status_code == 422
    assert 'id="phone-error"' in page and "Saisissez un numéro de téléphone valide" in page
    assert 'id="first_name-error"' in page
    assert "06 12 34" in page  # what was typed stays
    assert reload(patient.id).phone == "+33612345678"
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    assert "La date de naissance est dans le futur" in html(form_post("/account/profile",
                                                                      profile_data(patient, birth_date=future)))


def test_phone_can_be_removed(client, log_in, form_post):
    patient = factories.make_patient(phone="+33612345678")
    log_in(patient.account)
    assert form_post("/account/profile", profile_data(patient, phone="  ")).status_code == 302
    assert reload(patient.id).phone is None


@pytest.mark.parametrize("status", [IdentityStatus.QUALIFIED, IdentityStatus.VALIDATED, IdentityStatus.RECOVERED])
def test_a_checked_identity_keeps_its_traits_and_says_why(client, log_in, form_post, status):
    patient = factories.make_patient(first_name="Marie", last_name="Lambert")
    set_identity(patient, status=status)
    log_in(patient.account)
    page = html(client.get("/account/profile"))
    assert 'name="first_name"' not in page and 'name="birth_date"' not in page
    assert "Cette identité est vérifiée" in page and "pièce d'identité" in page
    response = form_post("/account/profile", profile_data(patient, first_name="Autre", phone="0612345678"))
    assert response.status_code == 302
    saved = reload(patient.id)
    assert saved.first_name == "Marie" and saved.phone == "+33612345678"


def test_the_service_refuses_a_changed_trait_of_a_checked_identity(app):
    from webapp.accounts import profiles
    from webapp.errors import Forbidden

    patient = factories.make_patient(first_name="Marie")
    set_identity(patient, status=IdentityStatus.QUALIFIED)
    with app.test_request_context(), pytest.raises(Forbidden) as refused:
        profiles.update_profile(patient.account, patient.id, first_name="Autre", last_name=patient.last_name,
                                birth_date=patient.birth_date, phone=None)
    assert refused.value.code == "identity_locked" and "first_name" in refused.value.fields
    db.session.rollback()
    assert reload(patient.id).first_name == "Marie"


def test_a_provisional_identity_can_still_be_corrected(client, log_in, form_post):
    patient = factories.make_patient(first_name="Marie")
    set_identity(patient, status=IdentityStatus.PROVISIONAL)
    log_in(patient.account)
    assert 'name="first_name"' in html(client.get("/account/profile"))
    assert form_post("/account/profile", profile_data(patient, first_name="Maria")).status_code == 302
    assert reload(patient.id).first_name == "Maria"


def test_proxy_edits_a_relative_from_the_account_page(client, log_in, form_post):
    parent = factories.make_patient()
    child = factories.make_relative(parent.account, first_name="Jules")
    log_in(parent.account)
    account = html(client.get("/account"))
    assert f'href="/account/relatives/{child.id}"' in account
    assert f'href="/account/relatives/{child.id}/own-account"' in account
    page = html(client.get(f"/account/relatives/{child.id}"))
    assert "Profil de Jules Relative" in page and "Donner à Jules son propre compte" in page
    response = form_post(f"/account/relatives/{child.id}",
                         profile_data(child, first_name="Jules-Henri", phone="07 00 00 00 01"), follow_redirects=True)
    assert "Le profil est enregistré" in html(response)
    saved = reload(child.id)
    assert saved.first_name == "Jules-Henri" and saved.phone == "+33700000001"


def test_another_account_cannot_see_or_edit_my_relative(client, log_in, form_post):
    parent = factories.make_patient()
    child = factories.make_relative(parent.account, first_name="Jules")
    stranger = factories.make_patient()
    log_in(stranger.account)
    assert client.get(f"/account/relatives/{child.id}").status_code == 404
    token_page = "/account/profile"
    response = form_post(f"/account/relatives/{child.id}", profile_data(child, first_name="Pirate"), page=token_page)
    assert response.status_code == 404
    assert reload(child.id).first_name == "Jules"
    # Nor another patient's own profile through the relatives' address.
    assert client.get(f"/account/relatives/{parent.id}").status_code == 404


def test_a_relative_with_their_own_account_is_edited_by_them_only(client, log_in, form_post):
    parent = factories.make_patient()
    grown_up = factories.make_patient(first_name="Léo")
    db.session.add(PatientProxy(user=parent.account, patient=grown_up))
    db.session.commit()
    log_in(parent.account)
    assert "a son propre compte" in html(client.get("/account"))
    refused = client.get(f"/account/relatives/{grown_up.id}")
    assert refused.status_code == 403 and "a son propre compte" in html(refused)
    response = form_post(f"/account/relatives/{grown_up.id}", profile_data(grown_up, first_name="Pirate"),
                         page="/account/profile")
    assert response.status_code == 403 and reload(grown_up.id).first_name == "Léo"


def test_own_profile_url_on_the_relatives_path_goes_to_my_profile(client, log_in):
    patient = factories.make_patient()
    log_in(patient.account)
    response = client.get(f"/account/relatives/{patient.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/profile")


def test_profile_pages_need_a_patient_login(client, form_post):
    assert client.get("/account/profile").status_code == 302
    practitioner = factories.make_practitioner()
    form_post("/login", {"email": practitioner.user.email, "password": factories.PASSWORD})
    form_post("/login/code", {"code": factories.totp_now(practitioner.user)})
    assert client.get("/account/profile").status_code == 404
    assert client.get("/account/relatives/1").status_code == 404


def test_a_provisional_ins_keeps_the_birth_date_consistent_with_its_number(client, log_in, form_post):
    patient = factories.make_patient(birth_date=dt.date(1985, 3, 14))  # the fixtures' NIR: born March 1985
    set_identity(patient, status=IdentityStatus.PROVISIONAL)
    log_in(patient.account)
    response = form_post("/account/profile", profile_data(patient, birth_date="1986-03-14"))
    assert response.status_code == 422 and "Cette date de naissance ne correspond pas" in html(response)
    assert reload(patient.id).birth_date == dt.date(1985, 3, 14)
    assert form_post("/account/profile", profile_data(patient, birth_date="1985-03-15")).status_code == 302
    assert reload(patient.id).birth_date == dt.date(1985, 3, 15)
