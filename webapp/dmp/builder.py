"""IHE MHD "Provide Document Bundle" (ITI-65): one notebook document as a FHIR R4 transaction.

A pure function of its inputs, with no I/O and no clock: the same document
always gives the same bundle, byte for byte, so a re-sent push carries the
same ids. Codes follow the French CI-SIS PDSm profile where it names them
(INS identifier, IdNat_PS, visibility label) and takes its codes from the
vendored CI-SIS value sets (`webapp.dmp.terminology`): the document type
(JDV_J07) and class (JDV_J06, TRE_A03) come from a configurable mapping per
notebook entry kind, the format from JDV_J10, the facility type and practice
setting from JDV_J02 and JDV_J04. Each resource declares its MHD Comprehensive
profile and the PDSm 3.1 profile derived from it; the subject is the contained
FR Core Patient holding the INS, as PDSm asks of `context.sourcePatientInfo`.
"""

import base64
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

from webapp.dmp import terminology
from webapp.dmp.ins import FR_V2_0203, IDNAT_PS_SYSTEM, IDNAT_STRUCT_TYPE, idnat_ps, ins_identifier
from webapp.dmp.terminology import Code

MHD_PROVIDE_BUNDLE_PROFILE = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive.ProvideBundle"
MHD_SUBMISSION_SET_PROFILE = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive.SubmissionSet"
MHD_DOCUMENT_REFERENCE_PROFILE = (
    "https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive.DocumentReference")
# ANS PDSm 3.1 (each derives from the MHD Comprehensive profile declared beside it), FR Core, Annuaire Santé.
PDSM = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/"
PDSM_PROVIDE_BUNDLE_PROFILE = PDSM + "pdsm-comprehensive-provide-document-bundle"
PDSM_SUBMISSION_SET_PROFILE = PDSM + "pdsm-submissionset-comprehensive"
PDSM_DOCUMENT_REFERENCE_PROFILE = PDSM + "pdsm-comprehensive-document-reference"
FR_CORE_PATIENT_PROFILE = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"
FR_CORE_PRACTITIONER_PROFILE = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-practitioner"
AS_PRACTITIONER_ROLE_PROFILE = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-practitionerrole"
MHD_SOURCE_ID_EXTENSION = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId"
MHD_DESIGNATION_TYPE_EXTENSION = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType"
MHD_LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
URI_SYSTEM = "urn:ietf:rfc:3986"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
VISIBILITY = "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument"
HIDDEN_FROM_PRACTITIONERS = "MASQUE_PS"
IDNPS_TYPE = "IDNPS"
DOCUMENT_LANGUAGE = "fr-FR"
# Fixed namespace: the bundle's internal ids derive from the document's unique id.
BUNDLE_NAMESPACE = uuid.UUID("6f1f9a56-2f4e-4c55-9d8c-4a1b0f0e6d21")


@dataclass(frozen=True)
class DocumentCode:
    """Codes of a kind of document: its `type` (JDV_J07, LOINC) and its class (`category`, JDV_J06: TRE_A03)."""

    type_code: str
    type_display: str
    class_code: str
    class_display: str


@dataclass(frozen=True)
class SourceSettings:
    """Who sends: the source system's id (OID as urn:oid:..., or a URI), the custodian
    organisation (its IdNat_Struct: "1" + FINESS or "3" + SIRET), the practice's
    codes, and the OID root under which documents and submission sets get their unique ids."""

    source_id: str
    custodian_system: str
    custodian_id: str
    custodian_name: str
    ins_oid: str
    facility_type: Code  # JDV_J02 (TRE_R02 secteur d'activité)
    practice_setting: Code  # JDV_J04 (TRE_A01 cadre d'exercice)
    oid_root: str = "2.25"  # 2.25: the UUID arc (ITU-T X.667), needing no registration


@dataclass(frozen=True)
class Document:
    """One document to push, as snapshotted when it was queued."""

    document_id: str  # urn:uuid:...: the document's entryUUID; its unique id (an OID) derives from it
    ins: str
    author_rpps: str
    author_family: str
    author_given: str
    title: str
    content_type: str
    content: bytes
    created_at: dt.datetime
    service_start: dt.datetime
    submitted_at: dt.datetime
    code: DocumentCode
    masked: bool = False
    replaces_document_id: str | None = None
    # The INS traits of the patient, as known when the document was queued.
    patient_family: str | None = None
    patient_given: str | None = None
    patient_birth_date: dt.date | None = None
    patient_gender: str | None = None  # FHIR administrative gender; None when not given


def _instant(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("times in a bundle need a time zone")
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _internal_uuid(document_id: str, role: str) -> str:
    return f"urn:uuid:{uuid.uuid5(BUNDLE_NAMESPACE, f'{document_id}/{role}')}"


def unique_id(document_id: str, root: str, role: str | None = None) -> str:
    """The XDS unique id (an OID, `urn:oid:<root>.<n>`) of a document, or of one of
    its companions (`role`: the submission set), derived from its urn:uuid so every
    attempt sends the same one. An id that is already an OID is kept."""
    if document_id.startswith("urn:oid:") and role is None:
        return document_id
    number = uuid.UUID(document_id.removeprefix("urn:uuid:"))
    if role is not None:
        number = uuid.uuid5(BUNDLE_NAMESPACE, f"{document_id}/{role}")
    return f"urn:oid:{root}.{number.int}"


def _coding(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _uri_identifier(value: str, use: str | None = None) -> dict:
    identifier = {"system": URI_SYSTEM, "value": value}
    if use:
        identifier["use"] = use
    return identifier


def patient_reference(ins: str, ins_oid: str) -> dict:
    """The subject: the contained Patient (PDSm: the resource `context.sourcePatientInfo`
    references, which must be contained), with its INS (INS-NIR, INS-NIR-TEST or INS-NIA)
    as the reference's identifier too."""
    return {"reference": "#patient", "identifier": ins_identifier(ins, ins_oid)}


def _meta(*profiles: str) -> dict:
    return {"profile": list(profiles)}


def _authors(document: Document) -> list[dict]:
    """The author as PDSm wants it: a contained PractitionerRole naming the contained Practitioner."""
    return [{"resourceType": "PractitionerRole", "id": "author-role", "meta": _meta(AS_PRACTITIONER_ROLE_PROFILE),
             "practitioner": {"reference": "#author"}}, _author(document)]


def _author(document: Document) -> dict:
    return {
        "resourceType": "Practitioner",
        "id": "author",
        "meta": _meta(FR_CORE_PRACTITIONER_PROFILE),
        "identifier": [{
            "type": {"coding": [_coding(FR_V2_0203, IDNPS_TYPE)]},
            "system": IDNAT_PS_SYSTEM,
            "value": idnat_ps(document.author_rpps),
        }],
        "name": [{"family": document.author_family, "given": [document.author_given]}],
    }


def _source_patient(document: Document, ins_identifier: dict) -> dict:
    """The patient as the source knows them (`context.sourcePatientInfo`): the INS and its traits."""
    patient = {"resourceType": "Patient", "id": "patient", "meta": _meta(FR_CORE_PATIENT_PROFILE),
               "identifier": [ins_identifier]}
    if document.patient_family:
        name = {"use": "official", "family": document.patient_family}
        if document.patient_given:
            name["given"] = document.patient_given.split()
        patient["name"] = [name]
    if document.patient_gender:
        patient["gender"] = document.patient_gender
    if document.patient_birth_date:
        patient["birthDate"] = document.patient_birth_date.isoformat()
    return patient


def _security_labels(document: Document) -> list[dict]:
    labels = [{"coding": [_coding(CONFIDENTIALITY, "N", "normal")]}]
    if document.masked:
        labels.append({"coding": [_coding(VISIBILITY, HIDDEN_FROM_PRACTITIONERS,
                                          "Document masqué aux professionnels de santé")]})
    return labels


def _document_reference(document: Document, source: SourceSettings, subject: dict, binary_url: str) -> dict:
    reference = {
        "resourceType": "DocumentReference",
        "meta": _meta(MHD_DOCUMENT_REFERENCE_PROFILE, PDSM_DOCUMENT_REFERENCE_PROFILE),
        "contained": [*_authors(document), _source_patient(document, subject["identifier"])],
        "masterIdentifier": _uri_identifier(unique_id(document.document_id, source.oid_root)),
        "identifier": [_uri_identifier(document.document_id, "official")],
        "status": "current",
        "type": {"coding": [_coding(terminology.lookup(terminology.TYPE_CODES, document.code.type_code).system,
                                    document.code.type_code, document.code.type_display)]},
        "category": [{"coding": [_coding(terminology.lookup(terminology.CLASS_CODES, document.code.class_code).system,
                                         document.code.class_code, document.code.class_display)]}],
        "subject": subject,
        "date": _instant(document.created_at),
        "author": [{"reference": "#author-role"}],
        "authenticator": {"reference": "#author-role"},
        "custodian": {
            "identifier": {"type": {"coding": [_coding(FR_V2_0203, IDNAT_STRUCT_TYPE)]},
                           "system": source.custodian_system, "value": source.custodian_id},
            "display": source.custodian_name,
        },
        "description": document.title,
        "securityLabel": _security_labels(document),
        "content": [{
            "attachment": {
                "contentType": document.content_type,
                "language": DOCUMENT_LANGUAGE,
                "url": binary_url,
                "size": len(document.content),
                "hash": base64.b64encode(hashlib.sha1(document.content, usedforsecurity=False).digest()).decode(),
                "title": document.title,
                "creation": _instant(document.created_at),
            },
            "format": terminology.format_code(document.content_type).coding(),
        }],
        "context": {
            "period": {"start": _instant(document.service_start)},
            "facilityType": source.facility_type.concept(),
            "practiceSetting": source.practice_setting.concept(),
            "sourcePatientInfo": {"reference": "#patient"},
        },
    }
    if document.replaces_document_id:
        reference["relatesTo"] = [{
            "code": "replaces",
            "target": {"identifier": _uri_identifier(unique_id(document.replaces_document_id, source.oid_root))},
        }]
    return reference


def _submission_set(document: Document, source: SourceSettings, subject: dict, reference_url: str) -> dict:
    """The SubmissionSet: its author (PDSm requires `source`: the practitioner in their
    role, contained), its designationType (the practice's sector of activity) and its
    subject, the same contained Patient as the DocumentReference's."""
    return {
        "resourceType": "List",
        "meta": _meta(MHD_SUBMISSION_SET_PROFILE, PDSM_SUBMISSION_SET_PROFILE),
        "contained": [*_authors(document), _source_patient(document, subject["identifier"])],
        "extension": [
            {"url": MHD_SOURCE_ID_EXTENSION, "valueIdentifier": {"value": source.source_id}},
            {"url": MHD_DESIGNATION_TYPE_EXTENSION, "valueCodeableConcept": source.facility_type.concept()},
        ],
        "identifier": [
            _uri_identifier(_internal_uuid(document.document_id, "submission-set"), "official"),
            _uri_identifier(unique_id(document.document_id, source.oid_root, "submission-set"), "usual"),
        ],
        "status": "current",
        "mode": "working",
        "code": {"coding": [_coding(MHD_LIST_TYPES, "submissionset", "Submission Set")]},
        "subject": subject,
        "date": _instant(document.submitted_at),
        "source": {"reference": "#author-role"},
        "entry": [{"item": {"reference": reference_url}}],
    }


def build_provide_bundle(document: Document, source: SourceSettings) -> dict:
    """The ITI-65 transaction for `document`: a SubmissionSet List, the
    DocumentReference describing it and the Binary holding its bytes, all
    created with POST, each only if the recipient has none yet (`ifNoneExist`
    on the document's and the submission set's unique ids; the Binary carries
    the document's unique id as a tag), so a re-sent transaction creates
    nothing twice."""
    list_url = _internal_uuid(document.document_id, "list")
    reference_url = _internal_uuid(document.document_id, "document-reference")
    binary_url = _internal_uuid(document.document_id, "binary")
    document_unique_id = unique_id(document.document_id, source.oid_root)
    submission_unique_id = unique_id(document.document_id, source.oid_root, "submission-set")
    subject = patient_reference(document.ins, source.ins_oid)
    return {
        "resourceType": "Bundle",
        "meta": _meta(MHD_PROVIDE_BUNDLE_PROFILE, PDSM_PROVIDE_BUNDLE_PROFILE),
        "type": "transaction",
        "timestamp": _instant(document.submitted_at),
        "entry": [
            {"fullUrl": list_url, "resource": _submission_set(document, source, subject, reference_url),
             "request": {"method": "POST", "url": "List",
                         "ifNoneExist": f"identifier={URI_SYSTEM}|{submission_unique_id}"}},
            {"fullUrl": reference_url, "resource": _document_reference(document, source, subject, binary_url),
             "request": {"method": "POST", "url": "DocumentReference",
                         "ifNoneExist": f"identifier={URI_SYSTEM}|{document_unique_id}"}},
            {"fullUrl": binary_url,
             "resource": {"resourceType": "Binary", "meta": {"tag": [_coding(URI_SYSTEM, document_unique_id)]},
                          "contentType": document.content_type, "data": base64.b64encode(document.content).decode()},
             "request": {"method": "POST", "url": "Binary", "ifNoneExist": f"_tag={URI_SYSTEM}|{document_unique_id}"}},
        ],
    }
