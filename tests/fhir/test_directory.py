"""Practitioner and Schedule searches, the CapabilityStatement, and what is not served."""

from tests import factories
from tests.billing.factories import make_subscription
from tests.booking.factories import open_practice
from tests.fhir.conftest import capability, fhir_bundle, idnat_ps, outcome
from webapp.billing.models import SubscriptionStatus


def test_practitioner_by_national_identifier(client):
    practitioner = factories.make_practitioner(first_name="Claire", last_name="Martin")
    pending = factories.make_practitioner(verification="pending")
    body = fhir_bundle(client.get(f"/fhir/r4/Practitioner?identifier={idnat_ps(practitioner)},{idnat_ps(pending)}"))
    [entry] = body["entry"]
    person = entry["resource"]
    assert person["id"] == str(practitioner.id) and person["name"][0] == {
        "use": "official", "family": "Martin", "given": ["Claire"]}
    assert person["identifier"][0]["system"] == "urn:oid:1.2.250.1.71.4.2.1"
    assert person["identifier"][0]["type"]["coding"][0]["code"] == "IDNPS"
    assert person["meta"]["profile"] == ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner"]


def test_practitioner_search_needs_a_well_formed_identifier(client):
    assert outcome(client.get("/fhir/r4/Practitioner"), 400)["code"] == "required"
    assert outcome(client.get("/fhir/r4/Practitioner?identifier=12345"), 400)["code"] == "invalid"


def test_schedule_of_a_practitioner(client, monday):
    practitioner, _ = open_practice(factories.make_practitioner(specialty="pediatrician"))
    suspended, _ = open_practice()
    make_subscription(suspended, status=SubscriptionStatus.SUSPENDED)
    hidden, _ = open_practice(factories.make_practitioner(verification="pending"))
    url = f"/fhir/r4/Schedule?actor=Practitioner/{practitioner.id},Practitioner/{suspended.id},{hidden.id}"
    body = fhir_bundle(client.get(url, headers={"Accept-Language": "en"}))
    schedules = {entry["resource"]["id"]: entry["resource"] for entry in body["entry"]}
    assert set(schedules) == {str(practitioner.id), str(suspended.id)}
    schedule = schedules[str(practitioner.id)]
    assert schedule["active"] is True and schedules[str(suspended.id)]["active"] is False
    assert schedule["specialty"] == [{"text": "Pediatrician"}]
    assert schedule["serviceType"] == [{"text": "Consultation"}]
    assert schedule["planningHorizon"]["start"].startswith("2027-01-11")
    assert schedule["planningHorizon"]["end"].startswith("2028-01-11")  # open_practice: a 365-day horizon


def test_schedule_search_refuses_what_is_not_a_practitioner_reference(client):
    assert outcome(client.get("/fhir/r4/Schedule"), 400)["code"] == "required"
    assert outcome(client.get("/fhir/r4/Schedule?actor=Location/3"), 400)["code"] == "invalid"
    assert outcome(client.get("/fhir/r4/Schedule?actor=Practitioner/99999999999"), 400)["code"] == "invalid"


def test_capability_statement_lists_what_is_served(client):
    body = capability(client.get("/fhir/r4/metadata"))
    assert body["fhirVersion"] == "4.0.1" and body["kind"] == "instance"
    resources = {resource["type"]: resource for resource in body["rest"][0]["resource"]}
    assert set(resources) == {"Slot", "Schedule", "Practitioner"}
    assert {parameter["name"] for parameter in resources["Slot"]["searchParam"]} == {
        "schedule.actor:Practitioner.identifier", "start", "status"}


def test_what_is_not_served_gets_an_operation_outcome(client):
    assert outcome(client.get("/fhir/r4/Appointment/1"), 404)["code"] == "not-supported"
    assert outcome(client.get("/fhir/r4/"), 404)["code"] == "not-supported"
    refused = client.post("/fhir/r4/Slot", json={})
    assert outcome(refused, 405)["code"] == "not-supported" and "GET" in refused.headers["Allow"]


def test_elsewhere_a_missing_page_is_still_the_usual_answer(client):
    assert client.get("/api/v1/nothing-here").get_json()["error"]["code"] == "not_found"
    assert client.get("/fhir/r4x").mimetype == "text/html"
