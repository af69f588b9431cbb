"""The practice's address and phone: set by the practitioner, shown to patients."""

import pytest

from tests import factories
from tests.booking.factories import local_start, make_appointment, open_practice
from webapp.accounts.models import PractitionerProfile
from webapp.audit.models import AuditEvent
from webapp.extensions import db

CONTACT = {"address": "3 place du Marché", "postcode": "35000", "city": "Rennes", "phone": "02 99 00 00 01"}


def html(response) -> str:
    return response.get_data(as_text=True)


def reload(practitioner_id: int) -> PractitionerProfile:
    db.session.expire_all()
    return db.session.get(PractitionerProfile, practitioner_id)


@pytest.mark.parametrize("verification", ["verified", "pending"])
def test_practitioner_sets_address_and_phone_from_the_settings(client, log_in, form_post, verification):
    practitioner = factories.make_practitioner(verification=verification)
    log_in(practitioner.user)
    if verification == "verified":
        open_practice(practitioner)
        settings = html(client.get("/settings/booking"))
        assert "Coordonnées du cabinet" in settings and 'href="/settings/practice"' in settings
        assert "Pas encore de téléphone" in settings
    response = form_post("/settings/practice", CONTACT, follow_redirects=True)
    page = html(response)
    assert "Les coordonnées du cabinet sont enregistrées" in page
    assert 'href="tel:+33299000001"' in page and "02 99 00 00 01" in page
    saved = reload(practitioner.id)
    assert (saved.address, saved.postcode, saved.city, saved.phone) == (
        "3 place du Marché", "35000", "Rennes", "+33299000001")
    event = db.session.query(AuditEvent).filter_by(action="practitioner.contact_updated").one()
    assert event.details == {"fields": "address+postcode+city+phone"}


def test_bad_contact_details_get_french_messages_and_change_nothing(client, log_in, form_post):
    practitioner = factories.make_practitioner(phone="+33299000001")
    log_in(practitioner.user)
    response = form_post("/settings/practice", CONTACT | {"phone": "02 99", "postcode": "3500", "city": " "})
    page = html(response)
    assert response.status_code == 422
    assert 'id="phone-error"' in page and "Saisissez un numéro de téléphone valide" in page
    assert 'id="postcode-error"' in page and "Cinq chiffres" in page
    assert reload(practitioner.id).city == "Paris" and reload(practitioner.id).phone == "+33299000001"


def test_only_the_practitioner_sets_the_practice_contact(client, log_in, form_post, app):
    from webapp.accounts.practice_contact import update_practice_contact
    from webapp.errors import Forbidden

    clinic = factories.make_clinic()
    factories.make_practitioner(clinic=clinic)
    secretary = factories.make_staff(clinic=clinic)
    patient = factories.make_patient()
    with app.test_request_context():
        for user in (secretary, patient.account):
            with pytest.raises(Forbidden):
                update_practice_contact(user, **CONTACT)
    log_in(patient.account)
    assert client.get("/settings/practice").status_code == 403
    assert form_post("/settings/practice", CONTACT, page="/account").status_code == 403


def test_staff_gets_403_on_the_page(client, log_in):
    clinic = factories.make_clinic()
    log_in(factories.make_staff(clinic=clinic))
    assert client.get("/settings/practice").status_code == 403


def test_patients_see_the_phone_on_the_practitioner_page_and_their_appointment(client, log_in):
    practitioner, reason = open_practice(factories.make_practitioner(phone="+33142000000"),
                                         cancellation_deadline_hours=24 * 10)
    patient = factories.make_patient()
    appointment = make_appointment(practitioner, patient, local_start(3), reason=reason)
    page = html(client.get(f"/practitioners/{practitioner.id}"))
    assert 'href="tel:+33142000000"' in page and "01 42 00 00 00" in page
    log_in(patient.account)
    detail = html(client.get(f"/appointments/{appointment.id}"))
    assert 'href="tel:+33142000000"' in detail
    # Past the deadline, the page says whom to call.
    assert "Trop tard pour annuler ou déplacer en ligne : appelez le cabinet au 01 42 00 00 00." in detail
    assert "appelez le cabinet au 01 42 00 00 00" in html(client.get("/appointments"))
