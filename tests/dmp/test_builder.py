"""The ITI-65 bundle: parsed by fhir.resources (R4B) and checked rule by rule."""

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import uuid

import pytest
from fhir.resources.R4B.bundle import Bundle

from tests.dmp.factories import VALID_NIR
from tests.dmp.profiles import bundle_problems
from webapp.dmp import builder, terminology
from webapp.dmp.settings import DEFAULT_DOCUMENT_CODES
from webapp.notebook.models import EntryKind

PDF = b"%PDF-1.4\n% a report\n%%EOF\n"
SOURCE = builder.SourceSettings(source_id="urn:oid:1.2.250.1.999.1", custodian_system="urn:oid:1.2.250.1.71.4.2.2",
                                custodian_id="1750000001", custodian_name="Cabinet Carnet",
                                ins_oid="1.2.250.1.213.1.4.10",
                                facility_type=terminology.lookup(terminology.FACILITY_TYPES, "SA07"),
                                practice_setting=terminology.lookup(terminology.PRACTICE_SETTINGS, "AMBULATOIRE"))
CREATED = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
DOCUMENT = builder.Document(
    document_id="urn:uuid:0b7e2a0e-3f0c-4f0e-9d7c-2d1f7d5f9a11", ins=VALID_NIR, author_rpps="99700218896",
    author_family="Martin", author_given="Claire", title="Compte rendu de consultation", content_type="application/pdf",
    content=PDF, created_at=CREATED, service_start=CREATED - dt.timedelta(minutes=30),
    submitted_at=CREATED + dt.timedelta(seconds=5), code=DEFAULT_DOCUMENT_CODES[EntryKind.REPORT],
    patient_family="Durand", patient_given="Marie Louise", patient_birth_date=dt.date(1995, 10, 2),
    patient_gender="female",
)
# The document's urn:uuid as a number under the default root 2.25 (ITU-T X.667).
DOCUMENT_UNIQUE_ID = "urn:oid:2.25.15276590347719527518129925682735585809"
TRE_A03 = "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"
TRE_R02 = "https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite"
TRE_A01 = "https://mos.esante.gouv.fr/NOS/TRE_A01-CadreExercice/FHIR/TRE-A01-CadreExercice"
TRE_A11 = "https://mos.esante.gouv.fr/NOS/TRE_A11-IheFormatCode/FHIR/TRE-A11-IheFormatCode"


def _resources(bundle: dict, resource_type: str) -> list[dict]:
    return [item["resource"] for item in bundle["entry"] if item["resource"]["resourceType"] == resource_type]


def _codes(concept: dict) -> set[tuple[str, str]]:
    return {(coding["system"], coding["code"]) for coding in concept["coding"]}


def test_the_bundle_parses_as_an_r4b_transaction_and_passes_the_recipient_checks():
    bundle = builder.build_provide_bundle(DOCUMENT, SOURCE)
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "transaction"
    assert bundle_problems(bundle) == []
    assert [item["request"]["method"] for item in bundle["entry"]] == ["POST", "POST", "POST"]
    assert sorted(item["request"]["url"] for item in bundle["entry"]) == ["Binary", "DocumentReference", "List"]


def test_exactly_one_submission_set_with_source_id_and_the_document_in_it():
    bundle = builder.build_provide_bundle(DOCUMENT, SOURCE)
    (submission_set,) = _resources(bundle, "List")
    assert _codes(submission_set["code"]) == {(builder.MHD_LIST_TYPES, "submissionset")}
    assert submission_set["status"] == "current" and submission_set["mode"] == "working"
    assert submission_set["extension"] == [
        {"url": builder.MHD_SOURCE_ID_EXTENSION, "valueIdentifier": {"value": SOURCE.source_id}},
        {"url": "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType",
         "valueCodeableConcept": {"coding": [{"system": TRE_R02, "code": "SA07", "display": "Cabinet individuel"}]}},
    ]
    reference_url = next(item["fullUrl"] for item in bundle["entry"]
                         if item["resource"]["resourceType"] == "DocumentReference")
    assert submission_set["entry"] == [{"item": {"reference": reference_url}}]
    assert submission_set["date"] == "2026-11-20T09:30:05Z"


def test_the_document_reference_carries_the_required_coded_elements():
    bundle = builder.build_provide_bundle(DOCUMENT, SOURCE)
    (reference,) = _resources(bundle, "DocumentReference")
    assert reference["masterIdentifier"] == {"system": "urn:ietf:rfc:3986", "value": DOCUMENT_UNIQUE_ID}
    assert reference["identifier"] == [{"system": "urn:ietf:rfc:3986", "value": DOCUMENT.document_id,
                                        "use": "official"}]
    assert reference["status"] == "current"
    assert _codes(reference["type"]) == {("http://loinc.org", "11488-4")}
    assert [_codes(category) for category in reference["category"]] == [{(TRE_A03, "10")}]
    assert [_codes(label) for label in reference["securityLabel"]] == [
        {("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "N")}]
    assert reference["custodian"]["identifier"] == {"system": "urn:oid:1.2.250.1.71.4.2.2", "value": "1750000001",
                                                     "type": {"coding": [{"system": builder.FR_V2_0203,
                                                                          "code": "IDNST"}]}}
    assert reference["context"] == {
        "period": {"start": "2026-11-20T09:00:00Z"},
        "facilityType": {"coding": [{"system": TRE_R02, "code": "SA07", "display": "Cabinet individuel"}]},
        "practiceSetting": {"coding": [{"system": TRE_A01, "code": "AMBULATOIRE", "display": "Ambulatoire"}]},
        "sourcePatientInfo": {"reference": "#patient"},
    }
    assert reference["content"][0]["format"] == {"system": TRE_A11, "code": "urn:ihe:iti:xds-sd:pdf:2008",
                                                 "display": "Document à corps non structuré en Pdf/A-1"}
    assert "relatesTo" not in reference


def test_subject_is_the_ins_and_the_same_on_list_and_document_reference():
    bundle = builder.build_provide_bundle(DOCUMENT, SOURCE)
    (submission_set,) = _resources(bundle, "List")
    (reference,) = _resources(bundle, "DocumentReference")
    expected = {"type": {"coding": [{"system": builder.FR_V2_0203, "code": "INS-NIR-TEST"}]},
                "system": "urn:oid:1.2.250.1.213.1.4.10", "value": VALID_NIR}
    # PDSm: the subject is the contained FR Core Patient that context.sourcePatientInfo references.
    assert submission_set["subject"] == reference["subject"] == {"reference": "#patient", "identifier": expected}
    for resource in (submission_set, reference):
        patient = next(item for item in resource["contained"] if item["id"] == "patient")
        assert patient["resourceType"] == "Patient" and patient["identifier"] == [expected]


def test_each_resource_declares_its_mhd_and_pdsm_profiles():
    bundle = builder.build_provide_bundle(DOCUMENT, SOURCE)
    pdsm, mhd = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/", \
        "https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive."
    assert bundle["meta"]["profile"] == [mhd + "ProvideBundle", pdsm + "pdsm-comprehensive-provide-document-bundle"]
    (submission_set,) = _resources(bundle, "List")
    assert submission_set["meta"]["profile"] == [mhd + "SubmissionSet", pdsm + "pdsm-submissionset-comprehensive"]
    (reference,) = _resources(bundle, "DocumentReference")
    assert reference["meta"]["profile"] == [mhd + "DocumentReference", pdsm + "pdsm-comprehensive-document-reference"]
    contained = {item["resourceType"]: item["meta"]["profile"] for item in reference["contained"]}
    assert contained == {
        "Patient": ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"],
        "Practitioner": ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner"],
        "PractitionerRole": ["https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-practitionerrole"]}


def test_the_profile_checks_refuse_missing_profiles_authors_and_subjects():
    bundle = builder.build_provide_bundle(DOCUMENT, SOURCE)
    bundle["meta"]["profile"] = bundle["meta"]["profile"][:1]
    (reference,) = _resources(bundle, "DocumentReference")
    reference["meta"]["profile"] = reference["meta"]["profile"][1:]
    reference["author"] = [{"reference": "#author"}]
    del reference["authenticator"]
    (submission_set,) = _resources(bundle, "List")
    submission_set["contained"] = [item for item in submission_set["contained"] if item["resourceType"] != "Patient"]
    assert set(bundle_problems(bundle)) == {
        "Bundle: Bundle does not declare https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/"
        "pdsm-comprehensive-provide-document-bundle",
        f"{bundle['entry'][1]['fullUrl']}: DocumentReference does not declare "
        "https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive.DocumentReference",
        "DocumentReference.author must reference a contained PractitionerRole, Device or Patient (PDSm)",
        "DocumentReference.authenticator must reference a contained PractitionerRole or Organization (PDSm)",
        "SubmissionSet.subject must reference a contained Patient"}


def test_the_source_patient_info_is_a_contained_patient_with_the_ins_traits():
    bundle = builder.build_provide_bundle(DOCUMENT, SOURCE)
    (reference,) = _resources(bundle, "DocumentReference")
    patients = [item for item in reference["contained"] if item["resourceType"] == "Patient"]
    assert patients == [{
        "resourceType": "Patient", "id": "patient",
        "meta": {"profile": ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"]},
        "identifier": [reference["subject"]["identifier"]],
        "name": [{"use": "official", "family": "Durand", "given": ["Marie", "Louise"]}],
        "gender": "female", "birthDate": "1995-10-02",
    }]
    assert reference["context"]["sourcePatientInfo"] == {"reference": "#patient"}


def test_unknown_traits_are_left_out_not_guessed():
    document = dataclasses.replace(DOCUMENT, patient_gender=None, patient_birth_date=None)
    bundle = builder.build_provide_bundle(document, SOURCE)
    (reference,) = _resources(bundle, "DocumentReference")
    patient = next(item for item in reference["contained"] if item["resourceType"] == "Patient")
    assert "gender" not in patient and "birthDate" not in patient
    assert bundle_problems(bundle) == []


def test_each_default_kind_has_a_cisis_type_and_class():
    for code in DEFAULT_DOCUMENT_CODES.values():
        assert terminology.contains(terminology.TYPE_CODES, "http://loinc.org", code.type_code)
        assert terminology.contains(terminology.CLASS_CODES, TRE_A03, code.class_code)
    assert DEFAULT_DOCUMENT_CODES[EntryKind.PRESCRIPTION].class_code == "42"


def test_the_author_and_authenticator_are_a_contained_role_of_the_practitioner_with_the_idnat_ps():
    bundle = builder.build_provide_bundle(DOCUMENT, SOURCE)
    (reference,) = _resources(bundle, "DocumentReference")
    (role,) = [item for item in reference["contained"] if item["resourceType"] == "PractitionerRole"]
    (author,) = [item for item in reference["contained"] if item["resourceType"] == "Practitioner"]
    assert reference["author"] == [{"reference": f"#{role['id']}"}]
    assert reference["authenticator"] == {"reference": f"#{role['id']}"}
    assert role["practitioner"] == {"reference": f"#{author['id']}"}
    assert author["resourceType"] == "Practitioner"
    assert author["identifier"][0]["system"] == "urn:oid:1.2.250.1.71.4.2.1"
    assert author["identifier"][0]["value"] == "899700218896"
    assert author["name"] == [{"family": "Martin", "given": ["Claire"]}]


def test_the_attachment_points_at_the_binary_with_matching_hash_and_size():
    bundle = builder.build_provide_bundle(DOCUMENT, SOURCE)
    (reference,) = _resources(bundle, "DocumentReference")
    attachment = reference["content"][0]["attachment"]
    binary_entry = next(item for item in bundle["entry"] if item["fullUrl"] == attachment["url"])
    assert binary_entry["resource"]["resourceType"] == "Binary"
    data = base64.b64decode(binary_entry["resource"]["data"])
    assert data == PDF
    assert attachment["size"] == len(PDF)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(PDF).digest()).decode()
    assert attachment["contentType"] == binary_entry["resource"]["contentType"] == "application/pdf"
    assert attachment["language"] == "fr-FR"
    assert attachment["title"] == "Compte rendu de consultation"
    assert attachment["creation"] == "2026-11-20T09:30:00Z"


def test_a_masked_document_is_labelled_masque_ps():
    bundle = builder.build_provide_bundle(dataclasses.replace(DOCUMENT, masked=True), SOURCE)
    (reference,) = _resources(bundle, "DocumentReference")
    labels = [_codes(label) for label in reference["securityLabel"]]
    assert labels == [{("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "N")},
                      {(builder.VISIBILITY, "MASQUE_PS")}]
    assert bundle_problems(bundle) == []


def test_a_superseding_document_replaces_the_earlier_one():
    earlier = "urn:uuid:5d2f7f8e-8c8b-4c43-9f68-6e1c0a3b2d10"
    bundle = builder.build_provide_bundle(dataclasses.replace(DOCUMENT, replaces_document_id=earlier), SOURCE)
    Bundle.model_validate(bundle)
    (reference,) = _resources(bundle, "DocumentReference")
    assert reference["relatesTo"] == [{"code": "replaces", "target": {"identifier": {
        "system": "urn:ietf:rfc:3986", "value": f"urn:oid:2.25.{uuid.UUID(earlier.removeprefix('urn:uuid:')).int}"}}}]
    assert bundle_problems(bundle) == []


def test_the_same_document_gives_the_same_bundle_byte_for_byte():
    first = json.dumps(builder.build_provide_bundle(DOCUMENT, SOURCE), sort_keys=True)
    again = json.dumps(builder.build_provide_bundle(DOCUMENT, SOURCE), sort_keys=True)
    assert first == again
    other = builder.build_provide_bundle(
        dataclasses.replace(DOCUMENT, document_id="urn:uuid:9a1c1e7e-1111-4a4a-8b8b-000000000001"), SOURCE)
    assert {item["fullUrl"] for item in other["entry"]}.isdisjoint(
        {item["fullUrl"] for item in json.loads(first)["entry"]})


def test_the_recipient_checks_catch_a_broken_bundle():
    """The checks used against every built bundle do fail on a wrong one."""
    bundle = builder.build_provide_bundle(DOCUMENT, SOURCE)
    (reference,) = _resources(bundle, "DocumentReference")
    reference["content"][0]["attachment"]["size"] += 1
    reference["subject"] = {"reference": "#patient",
                            "identifier": {"system": "urn:oid:1.2.250.1.213.1.4.10", "value": "186022A21532523"}}
    bundle["entry"][2]["request"]["method"] = "PUT"
    assert set(bundle_problems(bundle)) == {
        "every request must be a POST", "attachment size does not match the bytes",
        "the SubmissionSet and the DocumentReference name different subjects",
        "sourcePatientInfo does not carry the subject's INS",
        "DocumentReference.subject's Patient does not carry the subject's INS",
        "the patient identifier is not typed INS-NIR, INS-NIR-TEST or INS-NIA"}


def test_the_profile_checks_refuse_codes_outside_the_cisis_value_sets():
    """What the builder used to send (LOINC class, mimeTypeSufficient, no context codes) is refused."""
    bundle = builder.build_provide_bundle(DOCUMENT, SOURCE)
    (reference,) = _resources(bundle, "DocumentReference")
    reference["category"] = [{"coding": [{"system": "http://loinc.org", "code": "34109-9"}]}]
    reference["content"][0]["format"] = {"system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
                                         "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient"}
    reference["context"] = {"period": {"start": "2026-11-20T09:00:00Z"}}
    reference["contained"] = [item for item in reference["contained"] if item["resourceType"] != "Patient"]
    assert set(bundle_problems(bundle)) == {
        "DocumentReference.category is not a JDV_J06 class code (TRE_A03)",
        "DocumentReference.content.format is not a JDV_J10 format code",
        "DocumentReference.context.facilityType is not a JDV_J02 code",
        "DocumentReference.context.practiceSetting is not a JDV_J04 code",
        "DocumentReference.context.sourcePatientInfo must reference a contained Patient",
        "DocumentReference.subject must reference a contained Patient",
        "DocumentReference.subject and context.sourcePatientInfo must reference the same Patient (PDSm)"}


def test_the_submission_set_has_a_contained_author_as_source_and_oid_unique_id():
    bundle = builder.build_provide_bundle(dataclasses.replace(DOCUMENT), SOURCE)
    (submission_set,) = _resources(bundle, "List")
    assert submission_set["source"] == {"reference": "#author-role"}
    role = next(item for item in submission_set["contained"] if item["id"] == "author-role")
    assert role["resourceType"] == "PractitionerRole" and role["practitioner"] == {"reference": "#author"}
    practitioner = next(item for item in submission_set["contained"] if item["id"] == "author")
    assert practitioner["identifier"][0]["value"] == "899700218896"
    (entry_uuid,) = [item for item in submission_set["identifier"] if item["use"] == "official"]
    (unique,) = [item for item in submission_set["identifier"] if item["use"] == "usual"]
    assert entry_uuid["value"].startswith("urn:uuid:")
    assert unique["value"].startswith("urn:oid:2.25.") and unique["value"] != DOCUMENT_UNIQUE_ID


def test_unique_ids_go_under_the_configured_root_and_fit_xds():
    source = dataclasses.replace(SOURCE, oid_root="1.2.250.1.999.1.2.3.4567")
    bundle = builder.build_provide_bundle(DOCUMENT, source)
    (reference,) = _resources(bundle, "DocumentReference")
    value = reference["masterIdentifier"]["value"]
    assert value == "urn:oid:1.2.250.1.999.1.2.3.4567.15276590347719527518129925682735585809"
    assert len(value.removeprefix("urn:oid:")) <= 64
    document_entry = next(item for item in bundle["entry"] if item["resource"]["resourceType"] == "DocumentReference")
    assert document_entry["request"]["ifNoneExist"] == f"identifier=urn:ietf:rfc:3986|{value}"
    assert bundle_problems(bundle) == []


@pytest.mark.parametrize(("ins", "oid", "kind", "system"), [
    ("295109912611193", "1.2.250.1.213.1.4.8", "INS-NIR", "urn:oid:1.2.250.1.213.1.4.8"),
    ("295109912611193", "1.2.250.1.213.1.4.10", "INS-NIR-TEST", "urn:oid:1.2.250.1.213.1.4.10"),
    ("795109912611137", "1.2.250.1.213.1.4.8", "INS-NIA", "urn:oid:1.2.250.1.213.1.4.9"),
    ("895109912611184", "1.2.250.1.213.1.4.10", "INS-NIA", "urn:oid:1.2.250.1.213.1.4.9"),
])
def test_the_ins_is_typed_by_its_kind(ins, oid, kind, system):
    bundle = builder.build_provide_bundle(dataclasses.replace(DOCUMENT, ins=ins),
                                          dataclasses.replace(SOURCE, ins_oid=oid))
    (reference,) = _resources(bundle, "DocumentReference")
    assert reference["subject"]["identifier"] == {
        "type": {"coding": [{"system": builder.FR_V2_0203, "code": kind}]}, "system": system, "value": ins}
    assert bundle_problems(bundle) == []


def test_the_profile_checks_refuse_an_nia_sent_as_a_nir_and_uuid_unique_ids():
    bundle = builder.build_provide_bundle(dataclasses.replace(DOCUMENT, ins="795109912611137"), SOURCE)
    for item in bundle["entry"]:
        resource = item["resource"]
        if resource["resourceType"] in ("List", "DocumentReference"):
            resource["subject"]["identifier"] = {
                "type": {"coding": [{"system": builder.FR_V2_0203, "code": "INS-NIR"}]},
                "system": "urn:oid:1.2.250.1.213.1.4.8", "value": "795109912611137"}
            next(item for item in resource["contained"] if item["resourceType"] == "Patient")["identifier"] = [
                resource["subject"]["identifier"]]
    (reference,) = _resources(bundle, "DocumentReference")
    reference["masterIdentifier"]["value"] = DOCUMENT.document_id
    (submission_set,) = _resources(bundle, "List")
    del submission_set["source"]
    submission_set["extension"] = submission_set["extension"][:1]
    assert set(bundle_problems(bundle)) == {
        "an INS starting with 7 or 8 is an NIA, and only it",
        "DocumentReference.masterIdentifier is not an OID unique id",
        "SubmissionSet.source must reference a contained PractitionerRole, Device or Patient (PDSm)",
        "SubmissionSet needs a designationType (TRE_R02 sector of activity)"}


def test_every_entry_is_a_conditional_create_on_its_unique_id():
    bundle = builder.build_provide_bundle(DOCUMENT, SOURCE)
    by_type = {item["resource"]["resourceType"]: item for item in bundle["entry"]}
    (unique,) = [item["value"] for item in by_type["List"]["resource"]["identifier"] if item["use"] == "usual"]
    assert by_type["List"]["request"]["ifNoneExist"] == f"identifier=urn:ietf:rfc:3986|{unique}"
    assert by_type["DocumentReference"]["request"]["ifNoneExist"] == (
        f"identifier=urn:ietf:rfc:3986|{DOCUMENT_UNIQUE_ID}")
    assert by_type["Binary"]["resource"]["meta"]["tag"] == [{"system": "urn:ietf:rfc:3986",
                                                             "code": DOCUMENT_UNIQUE_ID}]
    assert by_type["Binary"]["request"]["ifNoneExist"] == f"_tag=urn:ietf:rfc:3986|{DOCUMENT_UNIQUE_ID}"
