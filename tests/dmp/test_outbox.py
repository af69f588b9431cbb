"""The outbox: what is queued, and the job against a local document recipient."""

import base64
import datetime as dt
import io
import json
import logging

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from tests import factories
from tests.dmp.factories import VALID_NIR, bearer, pushable_patient, set_consent, set_identity, write
from tests.dmp.profiles import bundle_problems
from tests.notebook.factories import make_treating_practitioner, mask_entry
from webapp.accounts.models import Sex
from webapp.db import now_utc
from webapp.dmp import outbox
from webapp.dmp.builder import VISIBILITY, unique_id
from webapp.dmp.models import DocumentPush, IdentityStatus, PushStatus
from webapp.extensions import db
from webapp.notebook import writing

LATER = dt.timedelta(days=2)  # beyond any backoff of the first attempts


def _unique(document_id: str) -> str:
    """The OID unique id a push's document goes out with (default root 2.25)."""
    return unique_id(document_id, "2.25")


def _pushes() -> list[DocumentPush]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(DocumentPush).order_by(DocumentPush.id)))


def _run(now=None) -> int:
    return outbox.push_pending_documents(now or now_utc())


def _document_references(bundle) -> list[dict]:
    return [item["resource"] for item in bundle["entry"] if item["resource"]["resourceType"] == "DocumentReference"]


# --- what is queued ---------------------------------------------------------------

def test_a_practitioners_report_is_queued_encrypted_in_the_entry_transaction(dmp):
    patient, practitioner = pushable_patient()
    entry = write(practitioner.user, patient, title="Bilan cardiologique", body="Souffle systolique 2/6.")
    (push,) = _pushes()
    assert (push.entry_id, push.patient_id, push.status, push.attempts) == (entry.id, patient.id,
                                                                             PushStatus.PENDING, 0)
    assert push.document_id.startswith("urn:uuid:")
    for clear in (b"Bilan cardiologique", b"Souffle", VALID_NIR.encode()):
        assert clear not in push.payload


@pytest.mark.parametrize("kind", ["report", "prescription", "exam_result", "document"])
def test_every_document_kind_of_the_mapping_is_queued(dmp, kind):
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient, kind=kind)
    assert len(_pushes()) == 1


def test_nothing_is_queued_for_notes_structured_kinds_or_the_patients_own_entries(dmp):
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient, kind="note")
    write(practitioner.user, patient, kind="allergy", title="", body="",
          data={"substance": "Pénicilline", "severity": "severe"})
    write(patient.account, patient, kind="report")
    assert _pushes() == []


@pytest.mark.parametrize("setup", ["no_identity", "provisional", "recovered", "validated", "no_consent", "withdrawn"])
def test_nothing_is_queued_without_consent_and_a_qualified_ins(dmp, setup):
    """Only a qualified INS leaves Carnet: not a provisional, recovered or validated one (RNIV)."""
    patient = factories.make_patient()
    practitioner = make_treating_practitioner(patient)
    if setup != "no_identity":
        status = IdentityStatus(setup) if setup in ("provisional", "recovered", "validated") \
            else IdentityStatus.QUALIFIED
        set_identity(patient, status=status, by=practitioner.user)
    if setup != "no_consent":
        set_consent(patient)
    if setup == "withdrawn":
        set_consent(patient, consent=False)
    write(practitioner.user, patient)
    assert _pushes() == []


def test_a_rolled_back_entry_leaves_no_push(dmp):
    patient, practitioner = pushable_patient()
    writing.add_entry(practitioner.user, patient.id, kind="report", title="Brouillon", body="")
    db.session.rollback()
    assert _pushes() == []


def test_the_entry_api_shows_the_push_status(dmp, dmp_client, recipient):
    patient, practitioner = pushable_patient()
    entry = write(practitioner.user, patient)
    own_note = write(patient.account, patient, kind="note")
    url = f"/api/v1/patients/{patient.id}/notebook/entries"
    for user in (patient.account, practitioner.user):
        assert dmp_client.get(f"{url}/{entry.id}", headers=bearer(user)).json["dmp_status"] == "pending"
    _run()
    listed = {item["id"]: item["dmp_status"] for item in dmp_client.get(url, headers=bearer(patient.account))
              .json["items"]}
    assert listed == {entry.id: "sent", own_note.id: None}


# --- sending ------------------------------------------------------------------------

def test_201_marks_the_push_sent_with_a_valid_bundle(dmp, recipient):
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    assert _run() == 1
    (push,) = _pushes()
    assert push.status is PushStatus.SENT and push.attempts == 1 and push.sent_at is not None
    (bundle,) = recipient.received
    assert bundle_problems(bundle) == []
    (reference,) = _document_references(bundle)
    assert reference["masterIdentifier"]["value"] == _unique(push.document_id)
    assert reference["subject"]["identifier"] == {
        "type": {"coding": [{"system": "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203",
                             "code": "INS-NIR-TEST"}]},
        "system": "urn:oid:1.2.250.1.213.1.4.10", "value": VALID_NIR}
    source_patient = next(item for item in reference["contained"] if item["resourceType"] == "Patient")
    assert source_patient["name"] == [{"use": "official", "family": patient.last_name,
                                       "given": patient.first_name.split()}]
    assert source_patient["birthDate"] == patient.birth_date.isoformat()
    author = next(item for item in reference["contained"] if item["resourceType"] == "Practitioner")
    assert author["identifier"][0]["value"] == "8" + practitioner.rpps
    assert list(recipient.documents) == [_unique(push.document_id)]
    assert _run(now_utc() + LATER) == 0  # nothing more to send


def test_500_twice_then_201_is_sent_after_three_attempts(dmp, recipient):
    recipient.scripted_statuses.extend([500, 503])
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    start = now_utc()
    _run(start)
    (push,) = _pushes()
    assert (push.status, push.attempts, push.last_error) == (PushStatus.PENDING, 1, "HTTP 500")
    assert push.next_attempt_at > start
    assert _run(start) == 0  # not due yet: the backoff holds it back
    _run(start + LATER)
    _run(start + 2 * LATER)
    (push,) = _pushes()
    assert (push.status, push.attempts) == (PushStatus.SENT, 3)
    assert len(recipient.received) == 3
    assert {_document_references(bundle)[0]["masterIdentifier"]["value"] for bundle in recipient.received} == {
        _unique(push.document_id)}
    assert list(recipient.documents) == [_unique(push.document_id)]


@pytest.mark.parametrize("status", [408, 429])
def test_408_and_429_are_retried(dmp, recipient, status):
    recipient.scripted_statuses.append(status)
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    _run()
    assert _pushes()[0].status is PushStatus.PENDING
    _run(now_utc() + LATER)
    assert _pushes()[0].status is PushStatus.SENT


def test_400_is_final_and_keeps_the_operation_outcome(dmp, recipient):
    recipient.scripted_statuses.append(400)
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    _run()
    (push,) = _pushes()
    assert (push.status, push.attempts, push.last_error) == (PushStatus.FAILED, 1, "HTTP 400")
    outcome = json.loads(push.operation_outcome)
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["diagnostics"] == "scripted answer"
    assert b"OperationOutcome" not in push.outcome  # encrypted at rest
    _run(now_utc() + LATER)
    assert len(recipient.received) == 1


def test_a_crash_between_send_and_mark_resends_the_same_document_kept_once(dmp, recipient):
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    (push,) = _pushes()
    assert outbox.send_push(push.id).delivered  # sent, then the process dies before recording it
    db.session.remove()
    assert _pushes()[0].status is PushStatus.PENDING
    _run()
    (push,) = _pushes()
    assert push.status is PushStatus.SENT
    first, second = recipient.received
    assert first == second  # byte-for-byte the same bundle, same unique id
    assert list(recipient.documents) == [_unique(push.document_id)]
    assert recipient.created == ["List", "DocumentReference", "Binary"]  # nothing created twice


def test_a_duplicate_answer_after_a_timeout_counts_as_sent(dmp, recipient, monkeypatch):
    """The recipient stores the document but answers too late; the retry is refused as a
    duplicate unique id (an XDS registry): the document is there, so the push is sent."""
    monkeypatch.setitem(dmp.config, "CARNET_DMP_TIMEOUT_SECONDS", 1)
    recipient.refuse_duplicates = True
    recipient.answer_late_once_seconds = 2
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    _run()
    (push,) = _pushes()
    assert (push.status, push.last_error) == (PushStatus.PENDING, "network: ReadTimeout")
    _run(now_utc() + LATER)
    (push,) = _pushes()
    assert (push.status, push.attempts, push.last_error) == (PushStatus.SENT, 2, None)
    assert list(recipient.documents) == [_unique(push.document_id)]
    assert recipient.created == ["List", "DocumentReference", "Binary"]


def test_a_conflict_that_is_not_a_duplicate_is_a_final_refusal(dmp, recipient):
    recipient.scripted_statuses.append(409)
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    _run()
    (push,) = _pushes()
    assert (push.status, push.last_error) == (PushStatus.FAILED, "HTTP 409")


def test_an_unreachable_recipient_is_retried_then_fails_after_the_last_attempt(dmp, recipient, monkeypatch):
    monkeypatch.setitem(dmp.config, "CARNET_DMP_ENDPOINT", "http://127.0.0.1:9/fhir")
    monkeypatch.setitem(dmp.config, "CARNET_DMP_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(dmp.config, "CARNET_DMP_TIMEOUT_SECONDS", 2)
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    moment = now_utc()
    for _ in range(2):
        _run(moment)
        assert _pushes()[0].status is PushStatus.PENDING
        moment += LATER
    _run(moment)
    (push,) = _pushes()
    assert (push.status, push.attempts) == (PushStatus.FAILED, 3)
    assert push.last_error.startswith("network: ")


def test_withdrawing_consent_cancels_what_is_not_sent(dmp, dmp_client, recipient):
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    response = dmp_client.put(f"/api/v1/patients/{patient.id}/dmp-consent", json={"consent": False},
                              headers=bearer(patient.account))
    assert response.status_code == 200
    _run()
    assert _pushes()[0].status is PushStatus.CANCELLED
    assert recipient.received == []


def test_a_correction_replaces_the_earlier_document(dmp, recipient):
    patient, practitioner = pushable_patient()
    first = write(practitioner.user, patient)
    _run()
    writing.supersede_entry(practitioner.user, patient.id, first.id, title="Compte rendu corrigé",
                            body="Examen clinique normal, TA 12/8.")
    db.session.commit()
    _run()
    earlier, correction = _pushes()
    assert correction.replaces_document_id == earlier.document_id
    assert correction.status is PushStatus.SENT
    (reference,) = _document_references(recipient.received[-1])
    assert reference["relatesTo"] == [{"code": "replaces", "target": {"identifier": {
        "system": "urn:ietf:rfc:3986", "value": _unique(earlier.document_id)}}}]
    assert len(recipient.documents) == 2


def test_a_document_the_patient_masked_is_labelled_masque_ps(dmp, recipient):
    patient, practitioner = pushable_patient()
    entry = write(practitioner.user, patient)
    mask_entry(entry, factories.make_practitioner())
    _run()
    (reference,) = _document_references(recipient.received[0])
    assert any(coding["system"] == VISIBILITY and coding["code"] == "MASQUE_PS"
               for label in reference["securityLabel"] for coding in label["coding"])


def test_bearer_authentication(dmp, recipient, monkeypatch):
    monkeypatch.setitem(dmp.config, "CARNET_DMP_AUTH", "bearer")
    monkeypatch.setitem(dmp.config, "CARNET_DMP_BEARER_TOKEN", "s3cret-token")
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    _run()
    assert recipient.authorizations == ["Bearer s3cret-token"]


def test_oauth2_client_credentials_fetch_a_token_once_and_reuse_it(dmp, recipient, monkeypatch):
    for name, value in {"CARNET_DMP_AUTH": "oauth2", "CARNET_DMP_TOKEN_URL": f"{recipient.url}/token",
                        "CARNET_DMP_CLIENT_ID": "carnet", "CARNET_DMP_CLIENT_SECRET": "secret"}.items():
        monkeypatch.setitem(dmp.config, name, value)
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    write(practitioner.user, patient, kind="prescription")
    _run()
    assert recipient.tokens_issued == 1
    assert recipient.authorizations == ["Bearer token-1", "Bearer token-1"]
    assert {push.status for push in _pushes()} == {PushStatus.SENT}


def test_the_folder_target_writes_each_bundle_as_json(dmp, monkeypatch, tmp_path):
    monkeypatch.setitem(dmp.config, "CARNET_DMP_ENDPOINT", "")
    monkeypatch.setitem(dmp.config, "CARNET_DMP_FOLDER", str(tmp_path / "bundles"))
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient)
    _run()
    (push,) = _pushes()
    assert push.status is PushStatus.SENT
    (written,) = (tmp_path / "bundles").iterdir()
    assert written.name == push.document_id.removeprefix("urn:uuid:") + ".json"
    assert bundle_problems(json.loads(written.read_text())) == []


def test_no_notebook_content_or_ins_in_the_logs(dmp, recipient, caplog):
    caplog.set_level(logging.DEBUG)
    recipient.scripted_statuses.append(400)
    patient, practitioner = pushable_patient()
    write(practitioner.user, patient, title="Titre-tres-secret", body="Corps-tres-secret")
    _run()
    assert caplog.records  # the job does log its attempts
    for secret in ("Titre-tres-secret", "Corps-tres-secret", VALID_NIR, "scripted answer"):
        assert secret not in caplog.text


# --- backoff -------------------------------------------------------------------------

class _Fixed:
    def __init__(self, value):
        self.value = value

    def uniform(self, low, high):
        return low + (high - low) * self.value


def test_retry_delay_doubles_with_jitter_and_a_cap(dmp):
    # The connector uses the outboxes' shared policy with its own first step and cap.
    config = {"CARNET_DMP_RETRY_SECONDS": 60, "CARNET_DMP_MAX_RETRY_SECONDS": 3600}

    def delays(point):
        return [outbox.retry_delay(attempt, first_seconds=config["CARNET_DMP_RETRY_SECONDS"],
                                   max_seconds=config["CARNET_DMP_MAX_RETRY_SECONDS"],
                                   rng=_Fixed(point)).total_seconds() for attempt in range(1, 9)]

    highest, lowest = delays(1.0), delays(0.0)
    assert highest == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert lowest == [value / 2 for value in highest]


def test_the_pushed_pdf_shows_the_ins_and_its_traits(dmp, recipient):
    patient, practitioner = pushable_patient()
    patient.sex = Sex.FEMALE
    db.session.commit()
    write(practitioner.user, patient)
    assert _run() == 1
    (bundle,) = recipient.received
    (binary,) = [entry["resource"] for entry in bundle["entry"] if entry["resource"]["resourceType"] == "Binary"]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(base64.b64decode(binary["data"]))).pages)
    assert VALID_NIR in text
    assert patient.last_name.upper() in text and "14/03/1985" in text and "F" in text.split(VALID_NIR)[1]
