"""The push job: sends due documents, retries with exponential backoff and jitter.

Each document is sent outside any transaction, then its result recorded in
its own. A crash between the two, or an answer lost to a timeout, leaves the
push due: the next run sends the same bundle (same unique ids) again, which
the recipient stores once (conditional creates), or refuses as a duplicate,
which counts as sent.
"""

import datetime as dt
import logging

import sqlalchemy as sa
from flask import current_app

from webapp.crypto import encrypt
from webapp.dmp import documents, services
from webapp.dmp.builder import build_provide_bundle
from webapp.dmp.models import DocumentPush, PushStatus
from webapp.dmp.settings import document_codes, source_settings
from webapp.dmp.transport import Delivery, deliver
from webapp.extensions import db
from webapp.notebook.models import EntryMask
from webapp.outbox_retry import retry_delay
from webapp.transaction import transaction

log = logging.getLogger(__name__)

BATCH_SIZE = 50


def bundle_for(push: DocumentPush) -> dict:
    """The bundle of a queued push, with the entry's masking as it is now."""
    config = current_app.config
    masked = db.session.scalar(sa.select(sa.exists().where(EntryMask.entry_id == push.entry_id)))
    document = documents.open_snapshot(
        push.payload, document_id=push.document_id, submitted_at=push.created_at, codes=document_codes(config),
        masked=bool(masked), replaces_document_id=push.replaces_document_id,
    )
    return build_provide_bundle(document, source_settings(config))


def send_push(push_id: int) -> Delivery | None:
    """Build and send one due push; None when it is no longer due or the
    patient withdrew consent meanwhile (then it is cancelled)."""
    with transaction():
        push = db.session.get(DocumentPush, push_id)
        if push is None or push.status is not PushStatus.PENDING:
            return None
        if services.may_push_for(push.patient_id) is None:
            push.status, push.last_error = PushStatus.CANCELLED, "no consent or qualified INS"
            return None
        try:
            bundle, document_id = bundle_for(push), push.document_id
        except (ValueError, KeyError) as error:
            return Delivery(False, error=f"build: {type(error).__name__}")
    return deliver(bundle, document_id, current_app.config)


def record_delivery(push_id: int, delivery: Delivery, now: dt.datetime) -> None:
    """Mark a push sent, due again later, or failed for good (keeping the recipient's answer)."""
    config = current_app.config
    with transaction():
        push = db.session.get(DocumentPush, push_id)
        if push is None or push.status is not PushStatus.PENDING:
            return
        push.attempts += 1
        push.last_attempt_at = now
        if delivery.delivered:
            push.status, push.sent_at, push.last_error = PushStatus.SENT, now, None
        elif delivery.retryable and push.attempts < config["CARNET_DMP_MAX_ATTEMPTS"]:
            delay = retry_delay(push.attempts, first_seconds=config["CARNET_DMP_RETRY_SECONDS"],
                                max_seconds=config["CARNET_DMP_MAX_RETRY_SECONDS"])
            if delivery.retry_after_seconds:
                delay = max(delay, dt.timedelta(seconds=delivery.retry_after_seconds))
            push.next_attempt_at, push.last_error = now + delay, delivery.error
        else:
            push.status, push.last_error = PushStatus.FAILED, delivery.error
            push.outcome = encrypt(delivery.outcome.encode()) if delivery.outcome else None
    log.info("shared record push %s: attempt %s, %s%s", push_id, push.attempts, push.status.value,
             " (already stored by the recipient)" if delivery.already_stored else "")


def push_pending_documents(now: dt.datetime) -> int:
    """Send every due push once (job `dmp.push_documents`); returns how many were attempted."""
    due_ids = list(db.session.scalars(
        sa.select(DocumentPush.id)
        .where(DocumentPush.status == PushStatus.PENDING, DocumentPush.next_attempt_at <= now)
        .order_by(DocumentPush.next_attempt_at, DocumentPush.id).limit(BATCH_SIZE)
    ))
    db.session.rollback()
    attempted = 0
    for push_id in due_ids:
        delivery = send_push(push_id)
        if delivery is not None:
            record_delivery(push_id, delivery, now)
            attempted += 1
    return attempted
