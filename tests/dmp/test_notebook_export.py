"""The notebook's FHIR export names the patient by a qualified INS, told by the connector (never a provisional one)."""

import json

from fhir.resources.R4B.bundle import Bundle

from tests import factories
from tests.dmp.factories import VALID_NIR, set_identity
from webapp.dmp.models import IdentityStatus
from webapp.notebook import exports
from webapp.transaction import transaction


def _exported_patient(patient) -> dict:
    with transaction():
        exported = exports.export_notebook(patient.account, patient.id, "fhir")
    Bundle.model_validate_json(exported.content)
    bundle = json.loads(exported.content)
    return next(item["resource"] for item in bundle["entry"] if item["resource"]["resourceType"] == "Patient")


def test_the_export_carries_a_qualified_ins(dmp):
    patient = factories.make_patient()
    set_identity(patient, status=IdentityStatus.QUALIFIED)
    ins, local = _exported_patient(patient)["identifier"]
    assert ins == {"use": "official", "system": "urn:oid:1.2.250.1.213.1.4.10", "value": VALID_NIR,
                   "type": {"coding": [{"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203",
                                        "code": "INS-NIR-TEST"}]}}
    assert local["value"] == str(patient.id)


def test_the_export_leaves_out_a_provisional_ins(dmp):
    patient = factories.make_patient()
    set_identity(patient, status=IdentityStatus.PROVISIONAL)
    [local] = _exported_patient(patient)["identifier"]
    assert local["value"] == str(patient.id)
