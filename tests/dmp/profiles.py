"""The profile rules every ITI-65 bundle must pass, written from the published profiles.

Sources (read from the IGs' FSH and StructureDefinitions, not from Carnet's code):
- IHE ITI MHD 4.2 "Comprehensive": IHE.MHD.Comprehensive.ProvideBundle,
  IHE.MHD.Comprehensive.SubmissionSet, IHE.MHD.Comprehensive.DocumentReference
  (profiles.ihe.net/ITI/MHD);
- ANS PDSm 3.1 (interop.esante.gouv.fr/ig/fhir/pdsm): PDSm_ComprehensiveProvideDocumentBundle,
  PDSm_ComprehensiveDocumentReference (author and authenticator 1.., contained; subject the
  Patient that context.sourcePatientInfo references, which is contained),
  PDSm_SubmissionSetComprehensive (subject a FR Core Patient, source a contained author);
- FR Core (hl7.fr/ig/fhir/core): the INS identifier types and their OIDs;
- the CI-SIS value sets vendored in webapp/dmp/data/value_sets.json.

`bundle_problems(bundle)` lists every rule a bundle breaks (empty: it passes).
The local recipient runs it on every bundle it receives.
"""

import base64
import hashlib
import re

from fhir.resources.R4B.bundle import Bundle

from webapp.dmp import terminology

MHD = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive."
PDSM = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/"
PROVIDE_BUNDLE = MHD + "ProvideBundle"
# The profiles each resource must declare in meta.profile: MHD Comprehensive and its PDSm derivation.
DECLARED_PROFILES = {
    "Bundle": {PROVIDE_BUNDLE, PDSM + "pdsm-comprehensive-provide-document-bundle"},
    "List": {MHD + "SubmissionSet", PDSM + "pdsm-submissionset-comprehensive"},
    "DocumentReference": {MHD + "DocumentReference", PDSM + "pdsm-comprehensive-document-reference"},
    "Patient": {"https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"},
    "Practitioner": {"https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner"},
    "PractitionerRole": {"https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-practitionerrole"},
}
MHD_LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
URI = "urn:ietf:rfc:3986"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
CONFIDENTIALITY_CODES = {"U", "L", "M", "N", "R", "V"}
VISIBILITY = "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument"
VISIBILITY_CODES = {"INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX", "MASQUE_PS"}  # JDV_J110
FR_V2_0203 = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
GENDERS = {"male", "female", "other", "unknown"}
SOURCE_ID = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId"
DESIGNATION_TYPE = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType"
IDNAT_STRUCT = "urn:oid:1.2.250.1.71.4.2.2"
# FR Core INS identifier slices: type code -> its OID
INS_SYSTEMS = {"INS-NIR": "urn:oid:1.2.250.1.213.1.4.8", "INS-NIR-TEST": "urn:oid:1.2.250.1.213.1.4.10",
               "INS-NIA": "urn:oid:1.2.250.1.213.1.4.9"}
OID_URN = re.compile(r"^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$")
UUID_URN = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
XDS_OID_MAX = 64
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
LANGUAGE = re.compile(r"^[a-z]{2}(-[A-Z]{2})?$")


def _codings(concept: dict | None) -> list[dict]:
    return (concept or {}).get("coding", [])


def _in_value_set(concept: dict | None, value_set: str) -> bool:
    codings = _codings(concept)
    return bool(codings) and all(terminology.contains(value_set, c.get("system", ""), c.get("code", ""))
                                 for c in codings)


def _contained(resource: dict, reference: dict | None) -> dict | None:
    """The contained resource a `#id` reference points at."""
    target = (reference or {}).get("reference", "")
    if not target.startswith("#"):
        return None
    return next((item for item in resource.get("contained", []) if item.get("id") == target[1:]), None)


def _is_unique_id(value: str) -> bool:
    """An XDS uniqueId as an OID: urn:oid:, at most 64 characters after it."""
    return bool(OID_URN.match(value or "")) and len(value.removeprefix("urn:oid:")) <= XDS_OID_MAX


def profile_problems(resource: dict, where: str) -> list[str]:
    """The resource, and each resource it contains, declares the profiles it must follow."""
    problems = []
    for item in [resource, *resource.get("contained", [])]:
        missing = DECLARED_PROFILES.get(item.get("resourceType"), set()) - set(item.get("meta", {}).get("profile", []))
        if missing:
            problems.append(f"{where}: {item.get('resourceType')} does not declare {', '.join(sorted(missing))}")
    return problems


def _subject_problems(resource: dict, name: str) -> list[str]:
    """PDSm: the subject is the contained FR Core Patient holding the INS (for a DocumentReference,
    the one `context.sourcePatientInfo` references)."""
    subject = resource.get("subject", {})
    patient = _contained(resource, subject)
    if patient is None or patient.get("resourceType") != "Patient":
        return [f"{name}.subject must reference a contained Patient"]
    problems = ins_problems(subject.get("identifier", {}))
    if subject.get("identifier") not in patient.get("identifier", []):
        problems.append(f"{name}.subject's Patient does not carry the subject's INS")
    return problems


def _identifier_of_use(resource: dict, use: str) -> list[dict]:
    return [identifier for identifier in resource.get("identifier", []) if identifier.get("use") == use]


def ins_problems(identifier: dict) -> list[str]:
    """FR Core INS: the type names the OID (INS-NIR, INS-NIR-TEST, INS-NIA); an NIA starts with 7 or 8."""
    codes = [c.get("code") for c in _codings(identifier.get("type")) if c.get("system") == FR_V2_0203]
    if len(codes) != 1 or codes[0] not in INS_SYSTEMS:
        return ["the patient identifier is not typed INS-NIR, INS-NIR-TEST or INS-NIA"]
    problems = []
    if identifier.get("system") != INS_SYSTEMS[codes[0]]:
        problems.append(f"an {codes[0]} must be under {INS_SYSTEMS[codes[0]]}")
    value = identifier.get("value", "")
    if len(value) != 15:
        problems.append("an INS has 15 characters")
    if (codes[0] == "INS-NIA") != (value[:1] in ("7", "8")):
        problems.append("an INS starting with 7 or 8 is an NIA, and only it")
    return problems


def _document_reference_problems(reference: dict, by_url: dict) -> list[str]:
    problems = []
    name = "DocumentReference"
    # XDS: the uniqueId (masterIdentifier) is an OID; the entryUUID identifier a urn:uuid
    if not _is_unique_id(reference.get("masterIdentifier", {}).get("value")):
        problems.append(f"{name}.masterIdentifier is not an OID unique id")
    if not any(UUID_URN.match(identifier.get("value", "")) for identifier in _identifier_of_use(reference, "official")):
        problems.append(f"{name}.identifier needs the entryUUID (official, urn:uuid)")
    for relation in reference.get("relatesTo", []):
        if relation.get("code") not in ("replaces", "transforms", "signs", "appends"):
            problems.append(f"{name}.relatesTo.code is not a document relationship")
        if not _is_unique_id(relation.get("target", {}).get("identifier", {}).get("value")):
            problems.append(f"{name}.relatesTo.target is not an OID unique id")
    custodian = reference.get("custodian", {}).get("identifier", {})
    if custodian.get("system") == IDNAT_STRUCT and not re.match(
            r"^(1(\d{2}|2A|2B)\d{7}|3\d{14})$", custodian.get("value", "")):
        problems.append(f"{name}.custodian is not an IdNat_Struct (1 + FINESS or 3 + SIRET)")
    problems += _subject_problems(reference, name)
    if reference.get("context", {}).get("sourcePatientInfo") != {"reference": reference.get("subject", {}).get(
            "reference")}:
        problems.append(f"{name}.subject and context.sourcePatientInfo must reference the same Patient (PDSm)")
    # MHD Comprehensive DocumentReference: required elements (1..)
    for element in ("masterIdentifier", "status", "type", "category", "subject", "date", "author",
                    "securityLabel", "content", "context"):
        if not reference.get(element):
            problems.append(f"{name}.{element} is required")
    if reference.get("status") != "current":
        problems.append(f"{name}.status must be current in a Provide Document Bundle")
    # PDSm: contained 1.. (the author), custodian 1..
    if not reference.get("contained"):
        problems.append(f"{name}.contained is required (PDSm)")
    if not reference.get("custodian"):
        problems.append(f"{name}.custodian is required (PDSm)")
    if len(reference.get("category", [])) != 1:
        problems.append(f"{name}.category must hold one class code")
    for category in reference.get("category", []):
        if not _in_value_set(category, terminology.CLASS_CODES):
            problems.append(f"{name}.category is not a JDV_J06 class code (TRE_A03)")
    if reference.get("type") and not _in_value_set(reference["type"], terminology.TYPE_CODES):
        problems.append(f"{name}.type is not a JDV_J07 type code")
    if reference.get("date") and not INSTANT.match(reference["date"]):
        problems.append(f"{name}.date is not an instant")
    # PDSm: author 1.. and authenticator 1.., contained (AS PractitionerRole, Device or FR Core Patient;
    # AS PractitionerRole or Organization), a PractitionerRole naming its contained Practitioner
    for author in reference.get("author", []):
        problems += _contained_author_problems(reference, author, f"{name}.author",
                                               ("PractitionerRole", "Device", "Patient"))
    problems += _contained_author_problems(reference, reference.get("authenticator"), f"{name}.authenticator",
                                           ("PractitionerRole", "Organization"))
    # securityLabel: exactly one confidentiality (v3 Confidentiality), visibility from JDV_J110
    confidentiality = [label for label in reference.get("securityLabel", [])
                       if any(c.get("system") == CONFIDENTIALITY for c in _codings(label))]
    if len(confidentiality) != 1:
        problems.append(f"{name}.securityLabel needs exactly one confidentiality code (PDSm)")
    for label in reference.get("securityLabel", []):
        for coding in _codings(label):
            allowed = {CONFIDENTIALITY: CONFIDENTIALITY_CODES, VISIBILITY: VISIBILITY_CODES}.get(coding.get("system"))
            if allowed is None or coding.get("code") not in allowed:
                problems.append(f"{name}.securityLabel {coding.get('code')!r} is outside its value set")
    # content: attachment with contentType, language, size, hash, title, creation; format from JDV_J10
    if len(reference.get("content", [])) != 1:
        problems.append(f"{name}.content must hold one document")
    for content in reference.get("content", []):
        attachment = content.get("attachment", {})
        for element in ("contentType", "language", "url", "size", "hash", "title", "creation"):
            if attachment.get(element) in (None, ""):
                problems.append(f"{name}.content.attachment.{element} is required")
        if attachment.get("language") and not LANGUAGE.match(attachment["language"]):
            problems.append(f"{name}.content.attachment.language is not a language code")
        format_codings = _codings({"coding": [content["format"]]} if content.get("format") else None)
        if not format_codings or not _in_value_set({"coding": format_codings}, terminology.FORMAT_CODES):
            problems.append(f"{name}.content.format is not a JDV_J10 format code")
        binary = by_url.get(attachment.get("url"))
        if binary is None or binary.get("resourceType") != "Binary":
            problems.append("an attachment url does not resolve to a Binary of the bundle")
            continue
        try:
            data = base64.b64decode(binary.get("data", ""), validate=True)
        except ValueError:
            problems.append("the Binary's data is not base64")
            continue
        if binary.get("contentType") != attachment.get("contentType"):
            problems.append("the Binary and the attachment differ in contentType")
        if attachment.get("size") != len(data):
            problems.append("attachment size does not match the bytes")
        if attachment.get("hash") != base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode():
            problems.append("attachment hash does not match the bytes")
    # context: period.start 1.., facilityType (JDV_J02), practiceSetting (JDV_J04), sourcePatientInfo contained
    context = reference.get("context", {})
    if not context.get("period", {}).get("start"):
        problems.append(f"{name}.context.period.start is required (PDSm)")
    if not _in_value_set(context.get("facilityType"), terminology.FACILITY_TYPES):
        problems.append(f"{name}.context.facilityType is not a JDV_J02 code")
    if not _in_value_set(context.get("practiceSetting"), terminology.PRACTICE_SETTINGS):
        problems.append(f"{name}.context.practiceSetting is not a JDV_J04 code")
    patient = _contained(reference, context.get("sourcePatientInfo"))
    if patient is None or patient.get("resourceType") != "Patient":
        problems.append(f"{name}.context.sourcePatientInfo must reference a contained Patient")
    else:
        problems += _source_patient_problems(patient, reference.get("subject", {}))
    return problems


def _contained_author_problems(resource: dict, reference: dict | None, where: str, types: tuple) -> list[str]:
    target = _contained(resource, reference)
    if target is None or target.get("resourceType") not in types:
        return [f"{where} must reference a contained {', '.join(types[:-1])} or {types[-1]} (PDSm)"]
    if target["resourceType"] == "PractitionerRole" and _contained(resource, target.get("practitioner")) is None:
        return [f"{where}'s PractitionerRole must name a contained Practitioner"]
    return []


def _source_patient_problems(patient: dict, subject: dict) -> list[str]:
    problems = []
    identifiers = patient.get("identifier", [])
    if subject.get("identifier") not in identifiers:
        problems.append("sourcePatientInfo does not carry the subject's INS")
    if patient.get("gender") is not None and patient["gender"] not in GENDERS:
        problems.append("sourcePatientInfo.gender is not an administrative gender")
    if patient.get("birthDate") is not None and not re.match(r"^\d{4}-\d{2}-\d{2}$", patient["birthDate"]):
        problems.append("sourcePatientInfo.birthDate is not a date")
    for name in patient.get("name", []):
        if not name.get("family"):
            problems.append("sourcePatientInfo.name without a family name")
    return problems


def _submission_set_problems(submission_set: dict, references: dict[str, dict]) -> list[str]:
    problems = []
    name = "SubmissionSet"
    for element in ("identifier", "status", "mode", "code", "subject", "date", "entry"):
        if not submission_set.get(element):
            problems.append(f"{name}.{element} is required")
    if submission_set.get("status") != "current" or submission_set.get("mode") != "working":
        problems.append(f"{name} must be current and working")
    if submission_set.get("date") and not INSTANT.match(submission_set["date"]):
        problems.append(f"{name}.date is not an instant")
    # PDSm: contained 1.., extension 2.. (sourceId, designationType), source 1.. (a contained author)
    if not submission_set.get("contained"):
        problems.append(f"{name}.contained is required (PDSm)")
    extensions = {extension.get("url"): extension for extension in submission_set.get("extension", [])}
    if not extensions.get(SOURCE_ID, {}).get("valueIdentifier", {}).get("value"):
        problems.append(f"{name} needs the ihe-sourceId extension")
    designation = extensions.get(DESIGNATION_TYPE, {}).get("valueCodeableConcept")
    if not _in_value_set(designation, terminology.FACILITY_TYPES):
        problems.append(f"{name} needs a designationType (TRE_R02 sector of activity)")
    problems += _contained_author_problems(submission_set, submission_set.get("source"), f"{name}.source",
                                           ("PractitionerRole", "Device", "Patient"))
    problems += _subject_problems(submission_set, name)
    if not any(_is_unique_id(identifier.get("value")) for identifier in _identifier_of_use(submission_set, "usual")):
        problems.append(f"{name}.identifier needs the uniqueId (usual, an OID)")
    if not any(UUID_URN.match(identifier.get("value", ""))
               for identifier in _identifier_of_use(submission_set, "official")):
        problems.append(f"{name}.identifier needs the entryUUID (official, urn:uuid)")
    for item in submission_set.get("entry", []):
        if item.get("item", {}).get("reference") not in references:
            problems.append(f"{name}.entry does not point at a DocumentReference of the bundle")
    return problems


def bundle_problems(bundle: dict) -> list[str]:
    """Every profile rule `bundle` breaks; empty when it is a conforming Provide Document Bundle."""
    try:
        Bundle.model_validate(bundle)
    except Exception as error:  # any parse error is the recipient's 400
        return [f"not a FHIR R4B Bundle: {error}"]
    problems = []
    if bundle.get("type") != "transaction":
        problems.append("not a transaction")
    problems += profile_problems(bundle, "Bundle")
    for item in bundle.get("entry", []):
        problems += profile_problems(item.get("resource", {}), item.get("fullUrl", "an entry"))
    if not bundle.get("timestamp"):
        problems.append("Bundle.timestamp is required")
    entries = bundle.get("entry", [])
    by_url = {item.get("fullUrl"): item.get("resource", {}) for item in entries}
    if any(not str(item.get("fullUrl", "")).startswith("urn:uuid:") for item in entries):
        problems.append("every entry needs a urn:uuid fullUrl")
    if any(item.get("request", {}).get("method") != "POST" for item in entries):
        problems.append("every request must be a POST")
    for item in entries:
        if item.get("request", {}).get("url") != item.get("resource", {}).get("resourceType"):
            problems.append("a request url does not name its resource type")
    submission_sets = [item["resource"] for item in entries if item["resource"]["resourceType"] == "List"
                       and any(coding.get("system") == MHD_LIST_TYPES and coding.get("code") == "submissionset"
                               for coding in _codings(item["resource"].get("code")))]
    if len(submission_sets) != 1:
        problems.append("exactly one SubmissionSet is required")
    references = {item["fullUrl"]: item["resource"] for item in entries
                  if item["resource"]["resourceType"] == "DocumentReference"}
    if not references:
        problems.append("no DocumentReference")
    for submission_set in submission_sets:
        problems += _submission_set_problems(submission_set, references)
    for reference in references.values():
        problems += _document_reference_problems(reference, by_url)
        if submission_sets and reference.get("subject", {}).get("identifier") != submission_sets[0].get(
                "subject", {}).get("identifier"):
            problems.append("the SubmissionSet and the DocumentReference name different subjects")
    return problems
