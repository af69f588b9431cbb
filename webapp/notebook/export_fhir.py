"""The notebook as a FHIR R4 Bundle (collection) of plain JSON resources.

Measurements become Observations (LOINC codes, UCUM units; blood pressure
as the vital-signs panel 85354-9 with its systolic and diastolic components,
older separate halves of the same time paired into one), allergies
AllergyIntolerance, vaccinations Immunization, treatments
MedicationStatement: their current versions only, a correction marked as
such. Notes, reports, prescriptions, exam results and documents become
DocumentReferences whose text and files are Binary resources; every version
is kept, an old one `superseded` and replaced by its correction.

The resources are written as JSON directly: their values come from data
validated when the entries were written, and validating thousands of
`fhir.resources` models on each export cost seconds. The tests validate the
exported Bundle, every builder and branch included, with `fhir.resources`.
"""

import base64
import datetime as dt
import json
import uuid
from typing import NamedTuple

from flask import current_app

from webapp.crypto import decrypt
from webapp.notebook.kinds import (
    BLOOD_PRESSURE,
    BLOOD_PRESSURE_LABEL,
    BLOOD_PRESSURE_PANEL,
    BLOOD_PRESSURE_SERIES,
    DOCUMENT_KINDS,
    MEASUREMENT_TYPES,
    measurement_unit_rule,
)
from webapp.notebook.models import EntryKind, NotebookEntry

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
# FR Core identifier types (INS by OID: NIR, NIA, test NIR) and the local id's system under Carnet's address.
FR_V2_0203 = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
INS_TYPES = {"1.2.250.1.213.1.4.8": "INS-NIR", "1.2.250.1.213.1.4.9": "INS-NIA", "1.2.250.1.213.1.4.10": "INS-NIR-TEST"}
LOCAL_ID_PATH = "/fhir/patient-id"
# Where the optional shared-record connector tells the INS of a patient, when it is qualified
# (a `(ins, oid)` pair or None); the notebook does not import it.
QUALIFIED_INS_EXTENSION = "notebook.qualified_ins"
GENDERS = {"female", "male", "other", "unknown"}
CATEGORY_DISPLAY = {"vital-signs": "Vital Signs", "laboratory": "Laboratory"}
# LOINC document types of the document kinds.
DOCUMENT_TYPES = {
    EntryKind.NOTE: ("34109-9", "Note"),
    EntryKind.REPORT: ("11488-4", "Consult note"),
    EntryKind.PRESCRIPTION: ("57833-6", "Prescription for medication"),
    EntryKind.EXAM_RESULT: ("11502-2", "Laboratory report"),
    EntryKind.DOCUMENT: ("55188-7", "Patient data Document"),
}
# Stable resource ids: exporting twice names the same things the same way.
_NAMESPACE = uuid.UUID("6f0c3b8e-4c0e-4d4e-9a57-3f0c2c6a1e11")


def _urn(*parts) -> tuple[str, str]:
    identifier = str(uuid.uuid5(_NAMESPACE, ":".join(str(part) for part in parts)))
    return identifier, f"urn:uuid:{identifier}"


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def _patient(patient) -> dict:
    """The Patient: Carnet's own id, the INS when qualified (the only one that may
    be shared), the names, the sex as recorded (never guessed) and the birth date."""
    identifier, _ = _urn("patient", patient.id)
    base_url = current_app.config["CARNET_BASE_URL"].rstrip("/")
    identifiers = [{"use": "usual", "system": f"{base_url}{LOCAL_ID_PATH}", "value": str(patient.id)}]
    lookup = current_app.extensions.get(QUALIFIED_INS_EXTENSION)
    qualified = lookup(patient.id) if lookup is not None else None
    if qualified is not None:
        ins, oid = qualified
        identifiers.insert(0, {"use": "official",
                               "type": {"coding": [{"system": FR_V2_0203, "code": INS_TYPES.get(oid, "INS-NIR")}]},
                               "system": f"urn:oid:{oid}", "value": ins})
    sex = getattr(patient, "sex", None)
    return {"resourceType": "Patient", "id": identifier, "identifier": identifiers,
            "name": [{"family": patient.last_name, "given": [patient.first_name]}],
            "gender": str(sex) if sex in GENDERS else "unknown",
            "birthDate": patient.birth_date.isoformat()}


class _Context(NamedTuple):
    """What every resource of one export shares, resolved once."""

    subject: dict
    today: dt.date
    measurement_labels: dict[str, str]


def _category(code: str) -> list[dict]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": CATEGORY_DISPLAY[code]}]}]


def _notes(*entries: NotebookEntry) -> dict:
    notes = list(dict.fromkeys(entry.body for entry in entries if entry.body))
    return {"note": [{"text": note} for note in notes]} if notes else {}


def _blood_pressure(entries: tuple[NotebookEntry, ...], values: dict[str, float], measured_at: str,
                    context: _Context) -> dict:
    """The vital-signs blood pressure panel (LOINC 85354-9) of one reading, a component per value."""
    components = []
    for name, series in BLOOD_PRESSURE_SERIES.items():
        rule = MEASUREMENT_TYPES[series].units["mmHg"]
        components.append({
            "code": {"coding": [{"system": LOINC, "code": rule.loinc, "display": rule.loinc_display}]},
            "valueQuantity": {"value": values[name], "unit": "mmHg", "system": UCUM, "code": rule.ucum},
        })
    code, display = BLOOD_PRESSURE_PANEL
    return {
        "resourceType": "Observation",
        "status": "corrected" if any(entry.supersedes_id for entry in entries) else "final",
        "category": _category("vital-signs"),
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}],
                 "text": context.measurement_labels[BLOOD_PRESSURE]},
        "subject": context.subject,
        "effectiveDateTime": measured_at,
        "issued": _when(max(entry.created_at for entry in entries)),
        "component": components,
    } | _notes(*entries)


def _observation(entry: NotebookEntry, context: _Context) -> dict:
    data = entry.data
    if data["type"] == BLOOD_PRESSURE:
        return _blood_pressure((entry,), data, data["measured_at"], context)
    rule = measurement_unit_rule(data)
    category = MEASUREMENT_TYPES[data["type"]].category
    resource = {
        "resourceType": "Observation",
        "status": "corrected" if entry.supersedes_id else "final",
        "category": _category(category),
        "code": {"coding": [{"system": LOINC, "code": rule.loinc, "display": rule.loinc_display}],
                 "text": context.measurement_labels[data["type"]]},
        "subject": context.subject,
        "effectiveDateTime": data["measured_at"],
        "issued": _when(entry.created_at),
        "valueQuantity": {"value": data["value"], "unit": data["unit"], "system": UCUM, "code": rule.ucum},
    }
    return resource | _notes(entry)


def _blood_pressure_pairs(entries: list[NotebookEntry]) -> dict[int, NotebookEntry]:
    """Older separate systolic and diastolic entries of the same time, paired
    (systolic entry id → diastolic entry): each pair is exported as one reading."""
    halves: dict[tuple[str, str], list[NotebookEntry]] = {}
    for entry in entries:
        if entry.kind is EntryKind.MEASUREMENT and not entry.is_superseded:
            if entry.data["type"] in BLOOD_PRESSURE_SERIES.values():
                halves.setdefault((entry.data["type"], entry.data["measured_at"]), []).append(entry)
    systolic_type, diastolic_type = BLOOD_PRESSURE_SERIES["systolic"], BLOOD_PRESSURE_SERIES["diastolic"]
    pairs = {}
    for (measurement_type, measured_at), systolics in halves.items():
        if measurement_type == systolic_type:
            diastolics = halves.get((diastolic_type, measured_at), [])
            # A half without its other half at the same time has no pair.
            pairs |= {high.id: low for high, low in zip(systolics, diastolics, strict=False)}
    return pairs


def _allergy(entry: NotebookEntry, context: _Context) -> dict:
    data = entry.data
    resource = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL, "code": data["status"]}]},
        "criticality": "high" if data["severity"] == "severe" else "low",
        "code": {"text": data["substance"]},
        "patient": context.subject,
        "recordedDate": _when(entry.created_at),
    }
    if data["reaction"]:
        resource["reaction"] = [{"manifestation": [{"text": data["reaction"]}], "severity": data["severity"]}]
    return resource


def _immunization(entry: NotebookEntry, context: _Context) -> dict:
    data = entry.data
    resource = {
        "resourceType": "Immunization", "status": "completed", "vaccineCode": {"text": data["vaccine"]},
        "patient": context.subject, "occurrenceDateTime": data["date"], "recorded": _when(entry.created_at),
        "primarySource": entry.author_practitioner_id is not None,
    }
    if data["lot"]:
        resource["lotNumber"] = data["lot"]
    return resource


def _medication(entry: NotebookEntry, context: _Context) -> dict:
    data = entry.data
    is_active = data["end"] is None or dt.date.fromisoformat(data["end"]) >= context.today
    period = {"start": data["start"]} | ({"end": data["end"]} if data["end"] else {})
    return {
        "resourceType": "MedicationStatement", "status": "active" if is_active else "completed",
        "medicationCodeableConcept": {"text": data["drug"]}, "subject": context.subject, "effectivePeriod": period,
        "dateAsserted": _when(entry.created_at), "dosage": [{"text": data["dosage"]}],
    }


def _binary(content_type: str, content: bytes, *parts) -> tuple[dict, str]:
    identifier, url = _urn("binary", *parts)
    return {"resourceType": "Binary", "id": identifier, "contentType": content_type,
            "data": base64.b64encode(content).decode()}, url


def _document(entry: NotebookEntry, context: _Context) -> list[tuple[dict, str]]:
    """The DocumentReference of a document entry, preceded by its Binary resources."""
    code, display = DOCUMENT_TYPES[entry.kind]
    text = f"{entry.title}\n\n{entry.body}".strip()
    text_binary, text_url = _binary("text/plain", text.encode(), "entry", entry.id)
    resources = [(text_binary, text_url)]
    contents = [{"attachment": {"contentType": "text/plain", "url": text_url, "title": entry.title}}]
    for attachment in entry.attachments:
        binary, url = _binary(attachment.content_type, decrypt(attachment.content), "attachment", attachment.id)
        resources.append((binary, url))
        contents.append({"attachment": {"contentType": attachment.content_type, "url": url,
                                        "title": attachment.original_filename, "size": attachment.size_bytes}})
    identifier, url = _urn("entry", entry.id)
    document = {
        "resourceType": "DocumentReference", "id": identifier,
        "status": "superseded" if entry.is_superseded else "current",
        "type": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": context.subject, "date": _when(entry.created_at), "author": [{"display": entry.author_name}],
        "description": entry.title, "content": contents,
    }
    if entry.supersedes_id:
        document["relatesTo"] = [{"code": "replaces", "target": {"reference": _urn("entry", entry.supersedes_id)[1]}}]
    resources.append((document, url))
    return resources


CLINICAL_BUILDERS = {
    EntryKind.MEASUREMENT: _observation,
    EntryKind.ALLERGY: _allergy,
    EntryKind.VACCINATION: _immunization,
    EntryKind.TREATMENT: _medication,
}


def notebook_bundle(patient, entries: list[NotebookEntry], generated_at: dt.datetime) -> dict:
    """The Bundle of a patient's notebook."""
    patient_resource = _patient(patient)
    patient_url = _urn("patient", patient.id)[1]
    context = _Context({"reference": patient_url}, generated_at.date(),
                       {key: str(measurement.label) for key, measurement in MEASUREMENT_TYPES.items()}
                       | {BLOOD_PRESSURE: str(BLOOD_PRESSURE_LABEL)})
    resources: list[tuple[dict, str]] = [(patient_resource, patient_url)]
    pairs = _blood_pressure_pairs(entries)
    paired = {low.id for low in pairs.values()}
    for entry in entries:
        if entry.kind in DOCUMENT_KINDS:
            resources.extend(_document(entry, context))
            continue
        if entry.is_superseded or entry.id in paired:
            continue
        if entry.id in pairs:
            low = pairs[entry.id]
            identifier, url = _urn("entry", entry.id, low.id)
            resource = _blood_pressure((entry, low), {"systolic": entry.data["value"], "diastolic": low.data["value"]},
                                       entry.data["measured_at"], context)
            resources.append((resource | {"id": identifier}, url))
            continue
        identifier, url = _urn("entry", entry.id)
        resources.append((CLINICAL_BUILDERS[entry.kind](entry, context) | {"id": identifier}, url))
    return {
        "resourceType": "Bundle", "type": "collection", "timestamp": _when(generated_at),
        "entry": [{"fullUrl": url, "resource": resource} for resource, url in resources],
    }


def notebook_bundle_json(patient, entries: list[NotebookEntry], generated_at: dt.datetime) -> bytes:
    return json.dumps(notebook_bundle(patient, entries, generated_at), ensure_ascii=False,
                      separators=(",", ":")).encode()
