"""Export: a FHIR R4 Bundle that validates (and whose codes are right), and a readable PDF."""

import base64
import datetime as dt
import json
import re
import zlib

import pytest
from fhir.resources.R4B.bundle import Bundle

from tests import factories
from tests.billing.pdf_reading import flat, pdf_pages
from tests.notebook.factories import PNG_BYTES, make_attachment, make_entry, make_measurement, past
from webapp.accounts.models import Sex
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.notebook import exports, writing
from webapp.notebook.errors import PatientSideOnly
from webapp.transaction import transaction

LOINC_BY_TYPE = {"blood_pressure_systolic": "8480-6", "weight": "29463-7", "glucose": "15074-8", "hba1c": "4548-4"}
UCUM_BY_UNIT = {"mmHg": "mm[Hg]", "kg": "kg", "mmol/L": "mmol/L", "%": "%"}


@pytest.fixture
def full_notebook(world):
    patient = world.users["patient"]
    make_measurement(world.patient, "blood_pressure_systolic", 148, "mmHg", days_ago=40)
    make_measurement(world.patient, "glucose", 7.2, "mmol/L", days_ago=20)
    make_measurement(world.patient, "hba1c", 7.4, "%", days_ago=10)
    typo = make_measurement(world.patient, "weight", 8.1, "kg", days_ago=5)
    with transaction():
        writing.supersede_entry(patient, world.patient.id, typo.id, title="", body="", data={
            "type": "weight", "value": 81, "unit": "kg", "measured_at": typo.data["measured_at"]})
    make_entry(world.patient, kind="allergy", title="", data={"substance": "Pénicilline", "reaction": "Urticaire",
                                                               "severity": "severe"})
    make_entry(world.patient, kind="vaccination", title="", data={"vaccine": "Grippe", "lot": "FLU-42",
                                                                   "date": "2025-10-15"})
    make_entry(world.patient, kind="treatment", title="", data={"drug": "Metformine", "dosage": "500 mg x2",
                                                                 "start": "2025-01-10"})
    make_entry(world.patient, kind="treatment", title="", data={"drug": "Amoxicilline", "dosage": "1 g x3",
                                                                 "start": "2025-01-01", "end": "2025-01-07"})
    report = make_entry(world.patient, author=world.treating.user, kind="report", title="Compte rendu",
                        body="Hypertension mal controlee.")
    make_attachment(report, content=PNG_BYTES, filename="ecg.png", content_type="image/png")
    with transaction():
        writing.supersede_entry(world.users["treating"], world.patient.id, report.id, title="Compte rendu corrige",
                                body="Hypertension controlee.")
    make_entry(world.patient, author=world.treating.user, kind="prescription", title="Ordonnance",
               body="Ramipril 5 mg")
    return world


def _bundle(world) -> dict:
    with transaction():
        exported = exports.export_notebook(world.users["patient"], world.patient.id, "fhir")
    assert exported.mimetype == "application/fhir+json" and exported.filename.endswith(".fhir.json")
    Bundle.model_validate_json(exported.content)  # the library's own validation
    return json.loads(exported.content)


def _resources(bundle: dict, resource_type: str) -> list[dict]:
    return [item["resource"] for item in bundle["entry"] if item["resource"]["resourceType"] == resource_type]


def test_fhir_bundle_validates_and_holds_every_kind(full_notebook):
    bundle = _bundle(full_notebook)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert dt.datetime.fromisoformat(bundle["timestamp"]).utcoffset() is not None
    counts = {kind: len(_resources(bundle, kind)) for kind in (
        "Patient", "Observation", "AllergyIntolerance", "Immunization", "MedicationStatement", "DocumentReference",
        "Binary")}
    # 5 current measurements (the mistyped weight is replaced); 4 documents: the
    # note, both versions of the report and the prescription; their 4 texts and 2 files.
    assert counts == {"Patient": 1, "Observation": 5, "AllergyIntolerance": 1, "Immunization": 1,
                      "MedicationStatement": 2, "DocumentReference": 4, "Binary": 6}
    full_urls = {item["fullUrl"] for item in bundle["entry"]}
    assert all(url.startswith("urn:uuid:") for url in full_urls) and len(full_urls) == len(bundle["entry"])
    references = re.findall(r'"reference":\s*"([^"]+)"', json.dumps(bundle))
    assert references and set(references) <= full_urls


def test_fhir_coded_values_are_right(full_notebook):
    bundle = _bundle(full_notebook)
    [patient] = _resources(bundle, "Patient")
    assert patient["name"] == [{"family": full_notebook.patient.last_name, "given": ["Marie"]}]
    assert patient["birthDate"] == "1985-03-14"
    observations = _resources(bundle, "Observation")
    by_code = {obs["code"]["coding"][0]["code"]: obs for obs in observations}
    for loinc in LOINC_BY_TYPE.values():
        observation = by_code[loinc]
        assert observation["code"]["coding"][0]["system"] == "http://loinc.org"
        quantity = observation["valueQuantity"]
        assert quantity["system"] == "http://unitsofmeasure.org" and quantity["code"] == UCUM_BY_UNIT[quantity["unit"]]
    assert by_code["29463-7"]["valueQuantity"]["value"] == 81 and by_code["29463-7"]["status"] == "corrected"
    assert by_code["8480-6"]["status"] == "final"
    assert by_code["8480-6"]["category"][0]["coding"][0]["code"] == "vital-signs"
    assert by_code["4548-4"]["category"][0]["coding"][0]["code"] == "laboratory"
    assert {obs["status"] for obs in observations} <= {"final", "corrected"}
    [allergy] = _resources(bundle, "AllergyIntolerance")
    assert allergy["clinicalStatus"]["coding"] == [{
        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]
    assert allergy["criticality"] == "high" and allergy["reaction"][0]["severity"] == "severe"
    [immunization] = _resources(bundle, "Immunization")
    assert immunization["status"] == "completed" and immunization["lotNumber"] == "FLU-42"
    assert immunization["occurrenceDateTime"] == "2025-10-15"
    statuses = {item["medicationCodeableConcept"]["text"]: item["status"]
                for item in _resources(bundle, "MedicationStatement")}
    assert statuses == {"Metformine": "active", "Amoxicilline": "completed"}


def test_fhir_documents_carry_their_text_and_files_as_binary(full_notebook):
    bundle = _bundle(full_notebook)
    binaries = {item["fullUrl"]: item["resource"] for item in bundle["entry"]
                if item["resource"]["resourceType"] == "Binary"}
    documents = _resources(bundle, "DocumentReference")
    assert {doc["status"] for doc in documents} == {"current", "superseded"}
    types = {doc["type"]["coding"][0]["code"] for doc in documents}
    assert types == {"34109-9", "11488-4", "57833-6"}
    old_report = next(doc for doc in documents if doc["status"] == "superseded")
    new_report = next(doc for doc in documents if doc.get("relatesTo"))
    assert new_report["relatesTo"][0]["code"] == "replaces"
    assert new_report["relatesTo"][0]["target"]["reference"].endswith(old_report["id"])
    [text, image] = [content["attachment"] for content in old_report["content"]]
    assert base64.b64decode(binaries[text["url"]]["data"], validate=True).decode() == (
        "Compte rendu\n\nHypertension mal controlee.")
    assert image["contentType"] == "image/png" and image["title"] == "ecg.png"
    assert base64.b64decode(binaries[image["url"]]["data"], validate=True) == PNG_BYTES
    for binary in binaries.values():
        base64.b64decode(binary["data"], validate=True)


def test_export_is_for_the_patient_side_only(world):
    for actor in ("patient", "proxy"):
        with transaction():
            assert exports.export_notebook(world.users[actor], world.patient.id, "pdf").content.startswith(b"%PDF")
    with pytest.raises(PatientSideOnly):
        exports.export_notebook(world.users["treating"], world.patient.id, "pdf")
    with pytest.raises(NotFound):
        exports.export_notebook(world.users["unrelated"], world.patient.id, "fhir")


def _pdf_text(pdf: bytes) -> str:
    """The text drawn on the pages (reportlab writes each page's content ASCII85 and Flate encoded)."""
    chunks = []
    for stream in re.findall(rb"/Filter \[ /ASCII85Decode /FlateDecode \][^>]*>>\s*stream\r?\n(.*?)~>", pdf, re.S):
        chunks.append(zlib.decompress(base64.a85decode(stream)).decode("latin-1"))
    return "".join(re.findall(r"\((.*?)\) Tj", "".join(chunks)))


def test_pdf_is_readable_grouped_by_kind_and_date(full_notebook, app):
    with app.test_request_context():
        with transaction():
            exported = exports.export_notebook(full_notebook.users["patient"], full_notebook.patient.id, "pdf")
    assert exported.mimetype == "application/pdf" and exported.content.startswith(b"%PDF")
    text = _pdf_text(exported.content)
    assert "Metformine" in text and "FLU-42" in text and "Ramipril 5 mg" in text and "ecg.png" in text
    text = text[text.index("Note"):]  # the entries, after the summary page
    headings = [heading for heading in ("Note", "Compte rendu", "Ordonnance", "Mesure", "Vaccination",
                                        "Traitement") if heading in text]
    assert [text.index(heading) for heading in headings] == sorted(text.index(heading) for heading in headings)
    assert text.index("Compte rendu corrige") > text.index("Hypertension mal controlee")


def test_fhir_bundle_validates_with_every_optional_field(world):
    # The resources are written as JSON without the library: each builder's branches must still validate.
    make_entry(world.patient, kind="measurement", title="Tension du soir", body="Après l'effort", data={
        "type": "heart_rate", "value": 96, "unit": "bpm", "measured_at": past(2).isoformat()})
    make_entry(world.patient, kind="allergy", title="", data={"substance": "Pollen", "severity": "mild",
                                                               "status": "resolved"})
    make_entry(world.patient, author=world.treating.user, kind="vaccination", title="",
               data={"vaccine": "Tétanos", "date": "2020-05-01"})
    make_entry(world.patient, kind="document", title="Scan « ancien » \u00e9\u00e8 \U0001f489", body="")
    bundle = _bundle(world)
    [immunization] = _resources(bundle, "Immunization")
    assert immunization["primarySource"] is True and "lotNumber" not in immunization
    [allergy] = _resources(bundle, "AllergyIntolerance")
    assert "reaction" not in allergy and allergy["criticality"] == "low"
    heart_rate = next(obs for obs in _resources(bundle, "Observation") if obs["code"]["coding"][0]["code"] == "8867-4")
    assert heart_rate["note"] == [{"text": "Après l'effort"}]


def test_fhir_blood_pressure_is_one_vital_signs_panel(world):
    patient = world.users["patient"]
    with transaction():
        entry = writing.add_entry(patient, world.patient.id, kind="measurement", title="", body="Au repos", data={
            "type": "blood_pressure", "systolic": 128, "diastolic": 82, "unit": "mmHg",
            "measured_at": past(3).isoformat()})
    # Older separate halves of one reading are paired; a lone half stays a single Observation.
    make_measurement(world.patient, "blood_pressure_systolic", 151, "mmHg", days_ago=30)
    make_measurement(world.patient, "blood_pressure_diastolic", 95, "mmHg", days_ago=30)
    make_measurement(world.patient, "blood_pressure_diastolic", 77, "mmHg", days_ago=60)
    make_measurement(world.patient, "heart_rate", 64, "bpm", days_ago=3)
    bundle = _bundle(world)
    observations = _resources(bundle, "Observation")
    panels = [obs for obs in observations if obs["code"]["coding"][0]["code"] == "85354-9"]
    assert len(panels) == 2
    for panel in panels:
        assert panel["code"]["coding"][0] == {"system": "http://loinc.org", "code": "85354-9",
                                              "display": "Blood pressure panel with all children optional"}
        assert panel["category"][0]["coding"][0]["code"] == "vital-signs"
        assert "valueQuantity" not in panel
        assert [component["code"]["coding"][0]["code"] for component in panel["component"]] == ["8480-6", "8462-4"]
        for component in panel["component"]:
            assert component["valueQuantity"]["system"] == "http://unitsofmeasure.org"
            assert component["valueQuantity"]["code"] == "mm[Hg]"
    values = sorted([component["valueQuantity"]["value"] for component in panel["component"]] for panel in panels)
    assert values == [[128, 82], [151, 95]]
    combined = next(panel for panel in panels if panel["component"][0]["valueQuantity"]["value"] == 128)
    assert combined["effectiveDateTime"] == entry.data["measured_at"] and combined["note"] == [{"text": "Au repos"}]
    singles = {obs["code"]["coding"][0]["code"]: obs for obs in observations if obs not in panels}
    assert "8480-6" not in singles and singles["8462-4"]["valueQuantity"]["value"] == 77
    assert len([obs for obs in observations if obs["code"]["coding"][0]["code"] == "8462-4"]) == 1
    assert all(obs["category"][0]["coding"][0]["code"] == "vital-signs" for obs in singles.values())


def test_fhir_patient_has_its_local_id_and_gender(app, world):
    bundle = _bundle(world)
    [patient] = _resources(bundle, "Patient")
    base_url = app.config["CARNET_BASE_URL"].rstrip("/")
    assert patient["identifier"] == [{"use": "usual", "system": f"{base_url}/fhir/patient-id",
                                      "value": str(world.patient.id)}]
    assert patient["gender"] == "unknown"  # never guessed from the name
    world.patient.sex = Sex.FEMALE
    db.session.commit()
    [patient] = _resources(_bundle(world), "Patient")
    assert patient["gender"] == "female"


def _exported_pages(world, app) -> list[str]:
    with app.test_request_context():
        with transaction():
            exported = exports.export_notebook(world.users["patient"], world.patient.id, "pdf")
    return [flat(page) for page in pdf_pages(exported.content)]


def test_pdf_opens_on_a_one_page_summary_and_numbers_every_page(full_notebook, app):
    pages = _exported_pages(full_notebook, app)
    assert len(pages) >= 2
    summary = pages[0]
    assert summary.startswith(f"Carnet de santé de {full_notebook.patient.full_name}")
    assert "Résumé" in summary
    # Allergies, current treatments (not the finished one), vaccinations, latest measurements.
    assert "Allergies Pénicilline Urticaire sévère" in summary
    assert "Traitements en cours Metformine 500 mg x2" in summary and "Amoxicilline" not in summary
    assert "Vaccinations Grippe 15 octobre 2025" in summary
    # The latest current value of each type (the world weighed 81.5 kg after the corrected 81 kg).
    assert "Dernières mesures Poids 81,5 kg" in summary and "8,1 kg" not in summary
    assert "Glycémie 7,2 mmol/L" in summary and "HbA1c 7,4 %" in summary
    # The entries start on the next page.
    assert "Compte rendu corrige" not in summary and "Compte rendu corrige" in " ".join(pages[1:])
    for number, page in enumerate(pages, start=1):
        assert page.endswith(f"Page {number} / {len(pages)}")


def test_summary_of_an_empty_notebook_says_none_recorded(app):
    patient = factories.make_patient()
    with app.test_request_context():
        with transaction():
            exported = exports.export_notebook(patient.account, patient.id, "pdf")
    pages = [flat(page) for page in pdf_pages(exported.content)]
    assert pages[0].count("Rien n'est enregistré.") == 4
    assert pages[-1].endswith(f"Page {len(pages)} / {len(pages)}")


def test_a_long_summary_still_holds_on_the_first_page(world, app):
    for index in range(20):
        make_entry(world.patient, kind="allergy", title="", data={
            "substance": f"Substance {index:02d}", "reaction": "Eczéma de contact étendu aux deux mains",
            "severity": "moderate"})
        make_entry(world.patient, kind="treatment", title="", data={
            "drug": f"Médicament {index:02d}", "dosage": "1 comprimé matin et soir pendant les repas",
            "start": "2025-01-10"})
    pages = _exported_pages(world, app)
    assert "et 12 de plus, détaillés plus loin." in pages[0] and pages[0].count("de plus") == 2
    assert "Dernières mesures" in pages[0] and pages[0].endswith(f"Page 1 / {len(pages)}")
    assert pages[1].startswith("Note")
