"""Shared-record rules: the patient's INS and its status, consent, what gets queued, admin actions.

- The patient side (the profile's account and those acting for it) records a
  provisional INS and gives or withdraws consent.
- A treating practitioner, or a secretary of a clinic whose practitioner treats
  the patient, records an INS and validates it after checking an ID document;
  only an INSi answer makes it recovered or qualified (RNIV statuses).
- Anyone else gets `NotFound`, as for a patient that does not exist.
- Only a practitioner's document of a consenting patient with a qualified
  INS is queued, in the transaction that wrote the entry.
Services flush but never commit; the caller wraps them in `transaction()`.
"""

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from webapp.accounts.models import PatientProfile, Role, User
from webapp.accounts.relatives import can_act_for_patient
from webapp.audit.services import record_event
from webapp.booking.agendas import managed_practitioners
from webapp.booking.treating import has_treating_relationship
from webapp.crypto import encrypt
from webapp.db import now_utc
from webapp.dmp import documents, insi
from webapp.dmp import ins as ins_numbers
from webapp.dmp.errors import (
    InsiAnswerRequired,
    InsiInsDiffers,
    InsiNotConfirmed,
    InsiSeveralIdentities,
    InsiTraitsDiffer,
    InsiTraitsIncomplete,
    InsiUnavailable,
    InsRequired,
    InsTraitsMismatch,
    InvalidIns,
    PushNotCancellable,
    PushNotRetryable,
    QualificationNotAllowed,
)
from webapp.dmp.models import ConsentRecord, DocumentPush, IdentityStatus, PatientIdentity, PushStatus
from webapp.dmp.settings import document_codes
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db
from webapp.notebook.models import NotebookEntry
from webapp.paging import paginate

MAX_DB_ID = 2**31 - 1


@dataclass(frozen=True)
class SharedRecordState:
    """What a patient's shared-record page shows."""

    patient: PatientProfile
    identity: PatientIdentity | None
    consent: ConsentRecord | None
    is_patient_side: bool
    can_qualify: bool


# --- who may act -------------------------------------------------------------

def _patient(patient_id: int) -> PatientProfile:
    patient = db.session.get(PatientProfile, patient_id) if isinstance(patient_id, int) and \
        0 < patient_id <= MAX_DB_ID else None
    if patient is None:
        raise NotFound()
    return patient


def _is_patient_side(user: User, patient_id: int) -> bool:
    return user.role is Role.PATIENT and can_act_for_patient(user, patient_id)


def _can_qualify(user: User, patient_id: int) -> bool:
    """A treating practitioner, or staff of a clinic one of whose practitioners treats the patient."""
    if user.role not in (Role.PRACTITIONER, Role.STAFF):
        return False
    return any(has_treating_relationship(practitioner.id, patient_id) for practitioner in managed_practitioners(user))


def _checked_actor(user: User | None, patient_id: int) -> tuple[PatientProfile, bool, bool]:
    if user is None or not user.is_authenticated:
        raise NotFound()
    patient = _patient(patient_id)
    is_patient_side = _is_patient_side(user, patient.id)
    can_qualify = not is_patient_side and _can_qualify(user, patient.id)
    if not (is_patient_side or can_qualify):
        raise NotFound()
    return patient, is_patient_side, can_qualify


# --- identity and consent ------------------------------------------------------

def identity_of(patient_id: int) -> PatientIdentity | None:
    return db.session.get(PatientIdentity, patient_id)


def qualified_ins(patient_id: int) -> tuple[str, str] | None:
    """The patient's INS and its OID when the INS is qualified (the only status
    that may leave Carnet), else None; what the notebook's FHIR export asks."""
    identity = identity_of(patient_id)
    if identity is None or identity.status is not IdentityStatus.QUALIFIED:
        return None
    return identity.ins, current_app.config["CARNET_DMP_INS_OID"]


def current_consent(patient_id: int) -> ConsentRecord | None:
    return db.session.scalar(sa.select(ConsentRecord).where(ConsentRecord.patient_id == patient_id)
                             .order_by(ConsentRecord.id.desc()).limit(1))


def shared_record_state(user: User, patient_id: int) -> SharedRecordState:
    """The INS and consent of a patient, for the patient side and those who may qualify it."""
    patient, is_patient_side, can_qualify = _checked_actor(user, patient_id)
    return SharedRecordState(patient, identity_of(patient.id), current_consent(patient.id), is_patient_side,
                             can_qualify)


# What a person may set: the patient side a provisional INS, a professional who
# checked an identity document a validated one. Recovered and qualified come
# only from an INSi answer (`apply_insi_answer`).
PERSON_STATUSES = (IdentityStatus.PROVISIONAL, IdentityStatus.VALIDATED)


def _check_traits(patient: PatientProfile, nir: str) -> None:
    """The NIR's sex, birth year and month must agree with the profile (`InsTraitsMismatch`)."""
    mismatches = ins_numbers.trait_mismatches(nir, birth_date=patient.birth_date,
                                              sex=patient.sex.value if patient.sex else None)
    if mismatches:
        message = str(InsTraitsMismatch.default_message)
        raise InsTraitsMismatch(fields={field: [message] for field in ["ins", *mismatches]})


def record_identity(user: User, patient_id: int, *, ins: str, status) -> PatientIdentity:
    """Record the patient's INS. The NIR's key must match (`InvalidIns`) and
    its traits agree with the profile (`InsTraitsMismatch`). The patient side
    records a provisional INS only (`QualificationNotAllowed` otherwise); a
    treating practitioner or clinic secretary records it provisional, or
    validated after checking an ID document; nobody sets recovered or
    qualified by hand (`InsiAnswerRequired`). The same number again keeps a
    stronger status; a recovered INS validated by a professional becomes
    qualified (INSi answer + ID document); another number starts over."""
    patient, is_patient_side, _ = _checked_actor(user, patient_id)
    status = IdentityStatus(status)
    if is_patient_side and status is not IdentityStatus.PROVISIONAL:
        raise QualificationNotAllowed()
    if status not in PERSON_STATUSES:
        raise InsiAnswerRequired()
    nir = ins_numbers.normalised_nir(ins) if isinstance(ins, str) else ""
    if not ins_numbers.is_valid_nir(nir):
        raise InvalidIns(fields={"ins": [str(InvalidIns.default_message)]})
    _check_traits(patient, nir)
    identity = identity_of(patient.id)
    if identity is not None and identity.ins == nir:
        if identity.status is IdentityStatus.RECOVERED and status is IdentityStatus.VALIDATED:
            status = IdentityStatus.QUALIFIED
        elif identity.status is IdentityStatus.QUALIFIED or (
                identity.status is not IdentityStatus.PROVISIONAL and status is IdentityStatus.PROVISIONAL):
            return identity
    if identity is None:
        identity = PatientIdentity(patient_id=patient.id)
        db.session.add(identity)
    identity.nir = encrypt(nir.encode())
    identity.status = status
    identity.recorded_by_user_id = user.id
    identity.recorded_at = now_utc()
    db.session.flush()
    record_event("dmp.identity_recorded", actor=user, target_type="patient", target_id=patient.id,
                 details={"status": status.value})
    return identity


def insi_request(user: User, patient_id: int) -> tuple[str, insi.Traits]:
    """The recorded INS and the profile's traits that a treating practitioner
    or clinic secretary asks INSi about (the patient side cannot ask). The sex
    sent is the profile's, else the NIR's (`InsiTraitsIncomplete` for an NIA
    of unknown sex)."""
    patient, is_patient_side, _ = _checked_actor(user, patient_id)
    if is_patient_side:
        raise QualificationNotAllowed()
    identity = identity_of(patient.id)
    if identity is None:
        raise InsRequired()
    sex = insi.request_sex(patient.sex.value if patient.sex else None, identity.ins)
    if sex is None:
        raise InsiTraitsIncomplete()
    traits = insi.Traits(last_name=patient.last_name, first_names=patient.first_name, birth_date=patient.birth_date,
                         sex=sex)
    return identity.ins, traits


def ask_insi(traits: insi.Traits) -> insi.InsiAnswer:
    """Search the INS of these traits with the INSi teleservice; call it outside any
    open transaction (`InsiUnavailable` on a timeout, a fault or a malformed answer)."""
    try:
        return insi.search_ins(traits, config=current_app.config, now=now_utc())
    except insi.InsiError:
        raise InsiUnavailable() from None


REFUSALS = {"not_found": InsiNotConfirmed, "several_found": InsiSeveralIdentities, "ins_differs": InsiInsDiffers,
            "traits_differ": InsiTraitsDiffer}


def apply_insi_answer(user: User, patient_id: int, nir: str, traits: insi.Traits,
                      answer: insi.InsiAnswer) -> PatientIdentity:
    """Record INSi's answer about `nir` (RNIV). Only one identity found, whose
    active INS is `nir` and whose traits are the profile's, confirms it: a
    validated INS (ID document checked) becomes qualified and any other
    recovered. None found (`InsiNotConfirmed`), several (`InsiSeveralIdentities`),
    another INS (`InsiInsDiffers`) or other traits (`InsiTraitsDiffer`, naming
    them) change nothing and are audited. The INS must not have changed meanwhile."""
    patient, is_patient_side, _ = _checked_actor(user, patient_id)
    if is_patient_side:
        raise QualificationNotAllowed()
    identity = identity_of(patient.id)
    verdict = insi.verdict(answer, nir, traits)
    if identity is None or identity.ins != nir:
        verdict = insi.Verdict("ins_differs")
    if verdict.reason is not None:
        record_event("dmp.insi_not_confirmed", actor=user, target_type="patient", target_id=patient.id,
                     details={"reason": verdict.reason, "cr": answer.code, "traits": "+".join(verdict.fields)})
        error = REFUSALS[verdict.reason]
        message = str(error.default_message)
        raise error(fields={name: [message] for name in verdict.fields})
    if identity.status is not IdentityStatus.QUALIFIED:
        identity.status = IdentityStatus.QUALIFIED if identity.status is IdentityStatus.VALIDATED \
            else IdentityStatus.RECOVERED
        identity.recorded_by_user_id = user.id
        identity.recorded_at = now_utc()
        db.session.flush()
    record_event("dmp.insi_confirmed", actor=user, target_type="patient", target_id=patient.id,
                 details={"status": identity.status.value})
    return identity


def record_consent(user: User, patient_id: int, *, consent: bool) -> ConsentRecord:
    """Record the patient side's consent to the push, or its withdrawal, with
    time and actor. Withdrawing cancels the documents not sent yet."""
    patient, is_patient_side, _ = _checked_actor(user, patient_id)
    if not is_patient_side:
        raise Forbidden()
    record = ConsentRecord(patient_id=patient.id, consent=bool(consent), actor_user_id=user.id, recorded_at=now_utc())
    db.session.add(record)
    if not consent:
        db.session.execute(sa.update(DocumentPush)
                           .where(DocumentPush.patient_id == patient.id, DocumentPush.status == PushStatus.PENDING)
                           .values(status=PushStatus.CANCELLED, last_error="consent withdrawn"))
    db.session.flush()
    record_event("dmp.consent_given" if consent else "dmp.consent_withdrawn", actor=user, target_type="patient",
                 target_id=patient.id)
    return record


def may_push_for(patient_id: int) -> PatientIdentity | None:
    """The qualified identity of a consenting patient, else None."""
    consent = current_consent(patient_id)
    identity = identity_of(patient_id)
    if consent is None or not consent.consent or identity is None or identity.status is not IdentityStatus.QUALIFIED:
        return None
    return identity


# --- the outbox ------------------------------------------------------------------

def _push_of_entry(entry_id: int) -> DocumentPush | None:
    return db.session.scalar(sa.select(DocumentPush).where(DocumentPush.entry_id == entry_id))


def enqueue_entry(entry: NotebookEntry) -> DocumentPush | None:
    """Queue a practitioner's document (a kind of the configured mapping) of a
    consenting patient with a qualified INS; a correction replaces the
    document pushed for the entry it corrects."""
    if entry.author_practitioner_id is None or entry.kind not in document_codes(current_app.config):
        return None
    identity = may_push_for(entry.patient_id)
    if identity is None:
        return None
    replaced = _push_of_entry(entry.supersedes_id) if entry.supersedes_id else None
    push = DocumentPush(
        entry_id=entry.id, patient_id=entry.patient_id, document_id=f"urn:uuid:{uuid.uuid4()}",
        replaces_document_id=replaced.document_id if replaced and replaced.status is not PushStatus.CANCELLED
        else None,
        payload=documents.seal_snapshot(entry, identity.ins), status=PushStatus.PENDING, attempts=0,
        next_attempt_at=now_utc(), created_at=now_utc(),
    )
    db.session.add(push)
    db.session.flush()
    return push


def push_status(entry_id: int) -> str | None:
    """The push status of a notebook entry (pending, sent, failed, cancelled), None if never queued."""
    return db.session.scalar(sa.select(DocumentPush.status).where(DocumentPush.entry_id == entry_id))


# --- administration ----------------------------------------------------------------

def _require_admin(user: User) -> None:
    if user is None or not user.is_authenticated or user.role is not Role.ADMIN:
        raise Forbidden()


def list_pushes(user: User, *, status=None, page: int = 1, per_page: int = 20) -> dict:
    """The outbox, newest first (operator's administrators only)."""
    _require_admin(user)
    statement = sa.select(DocumentPush).order_by(DocumentPush.id.desc())
    if status:
        statement = statement.where(DocumentPush.status == PushStatus(status))
    return paginate(statement, page=page, per_page=per_page)


def _admin_push(user: User, push_id: int) -> DocumentPush:
    _require_admin(user)
    push = db.session.get(DocumentPush, push_id) if isinstance(push_id, int) and 0 < push_id <= MAX_DB_ID else None
    if push is None:
        raise NotFound()
    return push


def retry_push(user: User, push_id: int) -> DocumentPush:
    """Send a failed or cancelled push again, from its first attempt (administrators only)."""
    push = _admin_push(user, push_id)
    if push.status not in (PushStatus.FAILED, PushStatus.CANCELLED):
        raise PushNotRetryable()
    push.status, push.attempts, push.next_attempt_at, push.last_error = PushStatus.PENDING, 0, now_utc(), None
    db.session.flush()
    record_event("dmp.push_retried", actor=user, target_type="dmp_push", target_id=push.id)
    return push


def cancel_push(user: User, push_id: int) -> DocumentPush:
    """Stop a waiting or failed push (administrators only)."""
    push = _admin_push(user, push_id)
    if push.status not in (PushStatus.PENDING, PushStatus.FAILED):
        raise PushNotCancellable()
    push.status = PushStatus.CANCELLED
    db.session.flush()
    record_event("dmp.push_cancelled", actor=user, target_type="dmp_push", target_id=push.id)
    return push
