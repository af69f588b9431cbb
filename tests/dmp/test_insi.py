"""INSi: the SOAP search of an INS from traits; only one identity found, with the recorded INS
and the profile's traits, makes an INS recovered or qualified."""

import datetime as dt

import pytest
import requests
import sqlalchemy as sa

from tests import factories
from tests.dmp.factories import VALID_NIR, bearer, set_identity
from tests.dmp.insi_service import result
from tests.notebook.factories import make_treating_practitioner
from webapp.accounts.models import ClinicRole, Sex
from webapp.audit.models import AuditEvent
from webapp.dmp import insi, services
from webapp.dmp.insi import InsiAnswer, InsiError, Traits, parse_answer, verdict
from webapp.dmp.models import IdentityStatus, PatientIdentity
from webapp.extensions import db

# What the national databases hold for the patient (VALID_NIR: a woman born in March 1985).
REGISTERED = {"birth_name": "LEFEVRE", "first_names": "MARIE CLAIRE", "sex": "F", "birth_date": "1985-03-14",
              "birth_place": "99100"}
OTHER_NIR = "285037511200136"


@pytest.fixture
def cast(dmp):
    patient = factories.make_patient(last_name="Lefèvre")
    clinic = factories.make_clinic()
    treating = make_treating_practitioner(patient, clinic=clinic)
    return {
        "patient": patient,
        "patient_user": patient.account,
        "treating": treating.user,
        "clinic_staff": factories.make_staff(clinic=clinic),
        "accountant": factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT),
    }


def _verify(client, cast, actor):
    return client.post(f"/api/v1/patients/{cast['patient'].id}/identity/insi-verification",
                       headers=bearer(cast[actor]))


def _status(patient) -> IdentityStatus:
    db.session.expire_all()
    return db.session.get(PatientIdentity, patient.id).status


def _refusals(reason: str) -> int:
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "dmp.insi_not_confirmed"))
    return sum(1 for event in events if (event.details or {}).get("reason") == reason)


@pytest.mark.parametrize("actor", ["treating", "clinic_staff"])
def test_a_validated_ins_found_by_insi_becomes_qualified(cast, dmp_client, insi, actor):
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    insi.register[VALID_NIR] = REGISTERED
    response = _verify(dmp_client, cast, actor)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "qualified"
    assert _status(cast["patient"]) is IdentityStatus.QUALIFIED
    assert services.qualified_ins(cast["patient"].id)[0] == VALID_NIR  # now the only sendable status


def test_the_request_is_the_teleservice_search_with_its_headers(cast, dmp_client, insi):
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    insi.register[VALID_NIR] = REGISTERED
    assert _verify(dmp_client, cast, "treating").status_code == 200
    sent = insi.requests[-1]
    assert sent["action"] == "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite"
    assert sent["content_type"].startswith("application/soap+xml")
    assert sent["message_id"].startswith("uuid:")
    assert sent["lps"] == {"IDAM": "CARNET0000TEST", "Version": "2026.12",
                           "Instance": "3f0c5a52-8f1e-4c1a-9a43-3c1d0f6b2e10", "Nom": "urn:lps:carnet:2026.12"}
    assert sent["bam_emitter"] == sent["lps_emitter"] == "1750000001"
    # The birth name without its accent; one first name; the sex the NIR gives (the profile has none).
    assert sent["traits"] == {"NomNaissance": "LEFEVRE", "Prenom": "MARIE", "Sexe": "F",
                              "DateNaissance": "1985-03-14", "LieuNaissance": None}


def test_a_provisional_ins_found_by_insi_is_recovered_then_qualified_by_an_id_check(cast, dmp_client, insi):
    set_identity(cast["patient"], status=IdentityStatus.PROVISIONAL)
    insi.register[VALID_NIR] = REGISTERED
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 200 and response.json["status"] == "recovered"
    assert services.qualified_ins(cast["patient"].id) is None
    validated = dmp_client.put(f"/api/v1/patients/{cast['patient'].id}/identity",
                               json={"ins": VALID_NIR, "status": "validated"}, headers=bearer(cast["clinic_staff"]))
    assert validated.status_code == 200 and validated.json["status"] == "qualified"


@pytest.mark.parametrize(("register", "code", "reason"), [
    ({}, "insi_not_confirmed", "not_found"),
    ({VALID_NIR: REGISTERED, OTHER_NIR: REGISTERED}, "insi_several_identities", "several_found"),
    ({OTHER_NIR: REGISTERED | {"former": [VALID_NIR]}}, "insi_ins_differs", "ins_differs"),
])
def test_no_single_identity_with_the_recorded_ins_changes_nothing(cast, dmp_client, insi, register, code, reason):
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    insi.register.update(register)
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 409
    assert response.json["error"]["code"] == code
    assert _status(cast["patient"]) is IdentityStatus.VALIDATED
    assert _refusals(reason) == 1


def test_returned_traits_that_differ_from_the_profile_are_refused_and_named(cast, dmp_client, insi):
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    insi.register[VALID_NIR] = REGISTERED | {"first_names": "CLAIRE MARIE"}  # Marie is a second first name
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "insi_traits_differ"
    assert set(response.json["error"]["fields"]) == {"first_name"}
    assert _status(cast["patient"]) is IdentityStatus.VALIDATED
    assert _refusals("traits_differ") == 1


def test_the_verdict_compares_each_trait():
    profile = Traits("Lefèvre", "Marie", dt.date(1985, 3, 14), "F")
    returned = Traits("LEFEVRE", "MARIE CLAIRE", dt.date(1985, 3, 14), "F")
    assert verdict(InsiAnswer("00", VALID_NIR, traits=returned), VALID_NIR, profile).reason is None
    for changes, field in [({"last_name": "LEFEBVRE"}, "last_name"), ({"birth_date": dt.date(1985, 3, 15)},
                           "birth_date"), ({"sex": "M"}, "sex"), ({"first_names": "MARIELLE"}, "first_name")]:
        answer = InsiAnswer("00", VALID_NIR, traits=Traits(**returned.__dict__ | changes))
        assert verdict(answer, VALID_NIR, profile).fields == (field,)
    assert verdict(InsiAnswer("00", OTHER_NIR, traits=returned), VALID_NIR, profile).reason == "ins_differs"
    assert verdict(InsiAnswer("01"), VALID_NIR, profile).reason == "not_found"
    assert verdict(InsiAnswer("02"), VALID_NIR, profile).reason == "several_found"


def test_a_profile_sex_is_sent_as_is(cast, dmp_client, insi):
    cast["patient"].sex = Sex.FEMALE
    db.session.commit()
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    insi.register[VALID_NIR] = REGISTERED
    assert _verify(dmp_client, cast, "treating").status_code == 200
    assert insi.requests[-1]["traits"]["Sexe"] == "F"


def test_an_nia_of_unknown_sex_cannot_be_searched(cast, dmp_client, insi):
    set_identity(cast["patient"], nir="785039912611183", status=IdentityStatus.VALIDATED, by=cast["treating"])
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 409 and response.json["error"]["code"] == "insi_traits_incomplete"
    assert insi.requests == []


@pytest.mark.parametrize("scripted", ["fault", "http_503", "not_xml", "cr_99"])
def test_a_fault_or_an_unreadable_answer_is_503_and_the_call_can_be_retried(cast, dmp_client, insi, scripted):
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    insi.register[VALID_NIR] = REGISTERED
    insi.scripted.append(scripted)
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 503 and response.json["error"]["code"] == "insi_unavailable"
    assert _status(cast["patient"]) is IdentityStatus.VALIDATED
    assert _verify(dmp_client, cast, "treating").json["status"] == "qualified"


def test_a_timeout_is_503_and_changes_nothing(cast, dmp_client, dmp_app, insi, monkeypatch):
    monkeypatch.setitem(dmp_app.config, "CARNET_INSI_TIMEOUT_SECONDS", 0.2)
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    insi.register[VALID_NIR] = REGISTERED
    insi.scripted.append(("delay", 1.0))
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 503 and response.json["error"]["code"] == "insi_unavailable"
    assert _status(cast["patient"]) is IdentityStatus.VALIDATED


def test_without_an_insi_endpoint_nothing_is_qualified(cast, dmp_client):
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 503 and response.json["error"]["code"] == "insi_unavailable"
    assert _status(cast["patient"]) is IdentityStatus.VALIDATED


class ForwardingTransport:
    """A deployment's own transport (e.g. a CPS card's): here, a plain POST that counts its calls."""

    calls = 0

    def __init__(self, config):
        self.endpoint = config["CARNET_INSI_ENDPOINT"]

    def send(self, envelope: bytes, *, action: str) -> bytes:
        ForwardingTransport.calls += 1
        headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}
        return requests.post(self.endpoint, data=envelope, headers=headers, timeout=5).content


def test_a_configured_transport_replaces_the_https_one(cast, dmp_client, dmp_app, insi, monkeypatch):
    monkeypatch.setitem(dmp_app.config, "CARNET_INSI_TRANSPORT", "tests.dmp.test_insi:ForwardingTransport")
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    insi.register[VALID_NIR] = REGISTERED
    before = ForwardingTransport.calls
    assert _verify(dmp_client, cast, "treating").json["status"] == "qualified"
    assert ForwardingTransport.calls == before + 1


def test_the_https_transport_presents_the_structure_certificate():
    transport = insi.HttpsTransport({"CARNET_INSI_ENDPOINT": "https://insi.example/lps", "CARNET_INSI_CERT": "c.pem",
                                     "CARNET_INSI_KEY": "k.pem", "CARNET_INSI_CA_BUNDLE": "ca.pem"})
    assert transport.cert == ("c.pem", "k.pem") and transport.verify == "ca.pem"


def test_an_answer_is_read_defensively():
    found = parse_answer(result("00", "OK", (VALID_NIR, REGISTERED | {"former": [OTHER_NIR]})))
    assert (found.ins, found.oid, found.former) == (VALID_NIR, "1.2.250.1.213.1.4.8", (OTHER_NIR,))
    assert found.traits == Traits("LEFEVRE", "MARIE CLAIRE", dt.date(1985, 3, 14), "F", "99100")
    nia_under_nir_oid = result("00", "OK", ("785039912611183", REGISTERED))
    entity = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
              b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
              b'<RESULTAT xmlns="http://www.cnamts.fr/INSiResultat"><CR><CodeCR>&e;</CodeCR></CR></RESULTAT>'
              b'</soap:Body></soap:Envelope>')
    for body in [nia_under_nir_oid, entity, b"<a/>", b"not xml", result("00", "OK")]:
        with pytest.raises(InsiError):
            parse_answer(body)


def test_the_patient_side_cannot_ask_insi(cast, dmp_client, insi):
    set_identity(cast["patient"], status=IdentityStatus.PROVISIONAL)
    response = _verify(dmp_client, cast, "patient_user")
    assert response.status_code == 403 and response.json["error"]["code"] == "qualification_not_allowed"
    assert insi.requests == []


def test_an_accountant_gets_404(cast, dmp_client, insi):
    set_identity(cast["patient"], status=IdentityStatus.VALIDATED, by=cast["treating"])
    assert _verify(dmp_client, cast, "accountant").status_code == 404
    assert insi.requests == [] and _status(cast["patient"]) is IdentityStatus.VALIDATED


def test_no_recorded_ins_is_409(cast, dmp_client, insi):
    response = _verify(dmp_client, cast, "treating")
    assert response.status_code == 409 and response.json["error"]["code"] == "ins_not_recorded"
