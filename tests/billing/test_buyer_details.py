"""The buyer's company identity: checked (SIREN/SIRET, a French VAT number's key and SIREN, a whole
address), kept on the subscription, printed on the next invoice and put in its Factur-X XML."""

import facturx
import pytest

from tests import factories
from tests.billing.factories import START, make_invoice, make_subscription
from tests.billing.facturx_checks import embedded_xml, schematron_failures, values
from tests.billing.pdf_reading import pdf_text
from webapp.accounts.models import ClinicRole, Role
from webapp.billing import backoffice, buyer_details
from webapp.billing.errors import InvalidBillingData
from webapp.billing.models import Subscription, SubscriptionStatus
from webapp.errors import Forbidden
from webapp.extensions import db
from webapp.transaction import transaction

COMPANY = {"name": "SELARL Cabinet Martin", "siret": "303 265 045 00003", "vat_number": "FR 40 303265045",
           "street": "12 rue des Lilas", "postcode": "69003", "city": "Lyon"}
BUYER = "//ram:BuyerTradeParty"


def refused_fields(raw: dict) -> dict:
    with pytest.raises(InvalidBillingData) as refused:
        buyer_details.check_billing_details(raw)
    return refused.value.fields


def test_details_are_cleaned_and_kept_whole():
    assert buyer_details.check_billing_details(COMPANY) == {
        "name": "SELARL Cabinet Martin", "siret": "30326504500003", "vat_number": "FR40303265045",
        "street": "12 rue des Lilas", "postcode": "69003", "city": "Lyon"}
    assert buyer_details.check_billing_details({}) == dict.fromkeys(buyer_details.FIELDS)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"vat_number": "FR41303265045"}, "vat_number", "Saisissez un numéro de TVA intracommunautaire valide"),
    ({"vat_number": "XX123"}, "vat_number", "Saisissez un numéro de TVA intracommunautaire valide"),
    ({"vat_number": "FR44732829320"}, "vat_number", "appartient au SIREN 732829320"),
    ({"siret": "30326504500004"}, "siret", "Saisissez un SIREN"),
    ({"postcode": ""}, "postcode", "adresse de facturation complète"),
    ({"postcode": "6900"}, "postcode", "code postal français de 5 chiffres"),
    ({"name": "A\x00B"}, "name", "caractères imprimables"),
])
def test_wrong_details_are_refused_with_a_french_message_naming_the_field(app, changes, field, message):
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        fields = refused_fields(COMPANY | changes)
    assert list(fields) == [field] and message in fields[field][0], fields


def test_every_wrong_field_is_named_at_once(app):
    fields = refused_fields(COMPANY | {"siret": "123", "postcode": "x", "city": ""})
    assert set(fields) == {"siret", "postcode", "city"}


def test_practitioner_sets_company_details_on_the_page_and_the_next_invoice_carries_them(client, log_in, form_post):
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    log_in(subscription.practitioner.user)
    page = "/billing/subscription"
    refused = form_post("/billing/subscription/details", COMPANY | {"vat_number": "FR41303265045"}, page=page)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="vat_number-error"' in html
    assert "Saisissez un numéro de TVA intracommunautaire valide" in html
    assert 'value="SELARL Cabinet Martin"' in html  # nothing typed is lost
    assert form_post("/billing/subscription/details", COMPANY, page=page).status_code == 302

    db.session.expire_all()
    invoice = make_invoice(db.session.get(Subscription, subscription.id))
    assert (invoice.buyer_name, invoice.buyer_street, invoice.buyer_postcode, invoice.buyer_city) \
        == ("SELARL Cabinet Martin", "12 rue des Lilas", "69003", "Lyon")
    text = pdf_text(invoice.document_pdf)
    for expected in ("SELARL Cabinet Martin", "12 rue des Lilas", "69003 Lyon", "SIREN 303265045",
                     "SIRET 30326504500003", "TVA intracommunautaire FR40303265045"):
        assert expected in text, expected
    xml = embedded_xml(invoice.document_pdf)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert (failures := schematron_failures(xml)) == [], "\n".join(failures)
    assert values(xml, BUYER + "/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']/text()") == ["FR40303265045"]
    assert values(xml, BUYER + "/ram:Name/text()") == ["SELARL Cabinet Martin"]
    assert values(xml, BUYER + "/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']/text()") == ["303265045"]
    assert values(xml, BUYER + "/ram:PostalTradeAddress/*/text()") == ["69003", "12 rue des Lilas", "Lyon", "FR"]


def test_api_sets_details_and_answers_422_naming_the_field(client, api_token):
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    headers = api_token(subscription.practitioner.user)
    url = "/api/v1/billing/subscription/billing-details"
    refused = client.put(url, json=COMPANY | {"vat_number": "FR41303265045"}, headers=headers)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "validation_error"
    assert list(refused.json["error"]["fields"]) == ["vat_number"]
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).billing_name is None  # no partial write
    saved = client.put(url, json=COMPANY, headers=headers)
    assert saved.status_code == 200
    assert saved.json["billing_details"] == buyer_details.check_billing_details(COMPANY)
    assert client.get("/api/v1/billing/subscription", headers=headers).json["billing_details"]["vat_number"] \
        == "FR40303265045"
    cleared = client.put(url, json={}, headers=headers)
    assert cleared.json["billing_details"] == dict.fromkeys(buyer_details.FIELDS)


def test_clinic_accountant_sets_the_clinic_details_others_cannot(client, api_token):
    clinic, other = factories.make_clinic(), factories.make_clinic(name="Autre centre")
    admin = factories.make_staff(role=Role.ADMIN)
    with transaction():
        subscription = backoffice.subscribe_clinic(clinic.id, actor=admin, now=START)
    url = f"/api/v1/backoffice/subscriptions/{subscription.id}/billing-details"
    accountant = factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT)
    saved = client.put(url, json=COMPANY, headers=api_token(accountant))
    assert saved.status_code == 200 and saved.json["billing_details"]["siret"] == "30326504500003"
    secretary = factories.make_staff(clinic=clinic)
    assert client.put(url, json=COMPANY, headers=api_token(secretary)).status_code == 403
    outsider = factories.make_staff(clinic=other, clinic_role=ClinicRole.ACCOUNTANT)
    assert client.put(url, json=COMPANY, headers=api_token(outsider)).status_code == 404
    practitioner = make_subscription().practitioner.user
    assert client.put(url, json=COMPANY, headers=api_token(practitioner)).status_code == 403
    with transaction(), pytest.raises(Forbidden):
        buyer_details.update_subscription_billing_details(subscription.id, COMPANY,
                                                          actor=factories.make_patient().account)
    assert client.put(url, json=COMPANY | {"name": "SCM Santé"}, headers=api_token(admin)).status_code == 200
