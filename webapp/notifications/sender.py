"""The outbox sender: claims due notifications, sends them, records each outcome.

Delivery is at-least-once, and the window for a duplicate is kept as small
as it can be:

1. Claim, in its own committed transaction: due rows become `sending` with a
   claim token, a lease (`claimed_until`) and one more attempt. On
   PostgreSQL the candidates are locked `FOR UPDATE SKIP LOCKED`, so
   concurrent senders take disjoint rows; the claim is also a conditional
   UPDATE, so even without row locks (SQLite, one writer at a time) a row
   is claimed by one sender only.
2. Send, outside any open transaction, over one SMTP connection for the
   whole run (reopened only if the server drops it). The server's verdict
   on a message is read when the next one is sent (or at the end of the
   batch): the server reads a message while the sender renders the next.
3. Record the outcome of each message as soon as its verdict is read: a
   failure is committed at once by the sender; an accepted message is
   handed to a recorder thread, which commits what was accepted in the
   last `RECORD_EVERY` (20 ms) in one UPDATE (group commit). The sender
   never waits for the database between two messages.

Only a crash between the SMTP server accepting a message ("250 OK") and
step 3 committing can send a message twice: the row stays `sending`, its
lease expires and another run sends it again. That gap is a few tens of
milliseconds (the recorder's wait and one commit, however slow the SMTP
server), shared by the messages accepted meanwhile; an error that stops
the run still reads the last verdict and waits for the recorder, so only a
killed process leaves accepted messages unrecorded. The Message-ID header
is derived from the row, so a duplicate is also recognisable by mail
clients. Rows left `sending` after their last attempt are marked failed,
never resent forever.
"""

import dataclasses
import datetime as dt
import email.utils
import functools
import hashlib
import itertools
import logging
import queue
import threading
import time
import uuid

import jinja2
import sqlalchemy as sa
from flask import current_app

from webapp.crypto import DecryptionError
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notifications.drafts import DraftError, unseal
from webapp.notifications.mime import UnsafeHeaderError, email_bytes
from webapp.notifications.models import Channel, Notification, NotificationStatus
from webapp.notifications.services import (
    EmailContent,
    SmsContent,
    render_email_draft,
    render_sms_draft,
    settings_turned_off,
)
from webapp.notifications.transports import DeliveryError, OutgoingMail, mail_transport, sms_backend
from webapp.outbox_retry import retry_delay
from webapp.transaction import transaction

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)
BATCH_SIZE = 200
# The longest wait between two attempts; with 6 attempts from 60 s it is not reached (at most 16 min).
MAX_RETRY_SECONDS = 6 * 3600
# How long the recorder gathers accepted messages before committing them (a crash loses the record of at most these).
RECORD_EVERY = 0.02


@dataclasses.dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    skipped: int = 0


@dataclasses.dataclass(frozen=True)
class _Outgoing:
    id: int
    token: str
    attempts: int
    key: str
    channel: Channel
    draft: dict  # the stored facts; rendered just before sending, outside any transaction


def build_email_message(content: EmailContent, *, sender: str, message_id: str) -> OutgoingMail:
    """The message and its envelope; an address or subject that cannot be written is a permanent failure."""
    try:
        data = email_bytes(sender=sender, to=content.to, subject=content.subject, date=now_utc(),
                           message_id=message_id, locale=content.locale, text=content.text, html=content.html,
                           attachments=[(a.filename, a.mime_type, a.data, a.parameters) for a in content.attachments])
    except UnsafeHeaderError as error:
        raise DeliveryError(str(error), permanent=True) from None
    return OutgoingMail(_address(sender), content.to, data)


@functools.lru_cache(maxsize=4)  # parseaddr takes 7 µs, twice per message: 1.5 % of the sender's CPU
def _address(sender: str) -> str:
    return email.utils.parseaddr(sender)[1]


def message_id(notification_id: int, channel: Channel, key: str, sender: str) -> str:
    """The Message-ID of a notification: derived from the row and its key, so a duplicate is recognisable."""
    domain = _address(sender).rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(f"{channel}:{key}".encode()).hexdigest()[:16]
    return f"<notification.{notification_id}.{digest}@{domain}>"


def _claimable(now: dt.datetime):
    return sa.or_(
        sa.and_(Notification.status == NotificationStatus.PENDING, Notification.due_at <= now),
        sa.and_(Notification.status == NotificationStatus.SENDING, Notification.claimed_until < now),
    )


def _lock_claimable_ids(now: dt.datetime, limit: int) -> list[int]:
    """Up to `limit` claimable ids, locked: rows whose lease expired (a stopped sender's) first,
    then due rows in due order. One query per status rather than one with OR, so that each
    follows `ix_notifications_status_due_at` and a claim costs the same however many rows
    the outbox keeps (an OR made PostgreSQL scan and sort the whole table at every claim)."""
    def locked(condition, count: int) -> list[int]:
        return list(db.session.scalars(
            sa.select(Notification.id).where(condition).order_by(Notification.due_at, Notification.id)
            .limit(count).with_for_update(skip_locked=True)))

    ids = locked(sa.and_(Notification.status == NotificationStatus.SENDING, Notification.claimed_until < now), limit)
    if len(ids) < limit:
        ids += locked(sa.and_(Notification.status == NotificationStatus.PENDING, Notification.due_at <= now),
                      limit - len(ids))
    return ids


def _close(row: Notification, status: NotificationStatus, error: str | None = None) -> None:
    row.status, row.claim_token, row.claimed_until = status, None, None
    if error:
        row.last_error = error[:1000]


def _claim_batch(now: dt.datetime, limit: int, max_attempts: int, report: SendReport) -> tuple[int, list[_Outgoing]]:
    """Claim up to `limit` due rows; close at once those that must not be sent.
    Returns how many rows were claimed and the messages to send."""
    # The claim token identifies this run's rows: a recorder's UPDATE matches only rows still
    # claimed by this run, so a row taken back by another sender after the lease is left alone.
    token = str(uuid.uuid4())
    ids = _lock_claimable_ids(now, limit)
    if not ids:
        return 0, []
    db.session.execute(
        sa.update(Notification).where(Notification.id.in_(ids), _claimable(now))
        .values(status=NotificationStatus.SENDING, claim_token=token, claimed_until=now + LEASE,
                attempts=Notification.attempts + 1, updated_at=now_utc())
        .execution_options(synchronize_session=False)
    )
    rows = db.session.scalars(sa.select(Notification).where(Notification.claim_token == token)
                              .order_by(Notification.due_at, Notification.id)).all()
    turned_off = settings_turned_off(row.user_id for row in rows if row.user_id is not None)
    outgoing = []
    for row in rows:
        # Checked at claim time, not at enqueue time: a setting turned off or an expiry
        # reached while the message waited still applies.
        if row.attempts > max_attempts:
            _close(row, NotificationStatus.FAILED, "the sender stopped during the last attempt")
            report.failed += 1
        elif row.not_after is not None and now > row.not_after:
            _close(row, NotificationStatus.EXPIRED)
            report.expired += 1
        elif (row.user_id, row.category, row.channel) in turned_off:
            _close(row, NotificationStatus.SKIPPED)
            report.skipped += 1
        else:
            try:
                draft = unseal(row.payload)
            except DecryptionError as error:
                _close(row, NotificationStatus.FAILED, str(error))
                report.failed += 1
                continue
            outgoing.append(_Outgoing(row.id, token, row.attempts, row.key, row.channel, draft))
    return len(rows), outgoing


def _render(item: _Outgoing) -> EmailContent | SmsContent:
    """The message of a claimed row; one that cannot be rendered will never be, so it fails for good."""
    try:
        return render_email_draft(item.draft) if item.channel is Channel.EMAIL else render_sms_draft(item.draft)
    except (DraftError, jinja2.TemplateError, KeyError, TypeError, ValueError) as error:
        # `last_error` is stored in clear: only the kind of error, whose text might quote the message.
        detail = str(error) if isinstance(error, DraftError) else type(error).__name__
        raise DeliveryError(f"the message cannot be rendered: {detail}", permanent=True) from None


def _record(item: _Outgoing, **values) -> None:
    with transaction():
        updated = db.session.execute(
            sa.update(Notification).where(Notification.id == item.id, Notification.claim_token == item.token)
            .values(claim_token=None, claimed_until=None, updated_at=now_utc(), **values)
            .execution_options(synchronize_session=False)
        ).rowcount
    if not updated:
        log.warning("notification %s: its claim expired while it was being sent", item.id)


def _record_failure(item: _Outgoing, error: DeliveryError, now: dt.datetime, report: SendReport) -> None:
    config = current_app.config
    message = str(error)[:1000]
    # A 5xx or an unrenderable message will never pass: retrying it would only delay the report.
    if error.permanent or item.attempts >= config["CARNET_OUTBOX_MAX_ATTEMPTS"]:
        _record(item, status=NotificationStatus.FAILED, last_error=message)
        report.failed += 1
        log.error("notification %s failed for good after %s attempt(s): %s", item.id, item.attempts, message)
    else:
        retry_at = now + retry_delay(item.attempts, first_seconds=config["CARNET_OUTBOX_RETRY_SECONDS"],
                                     max_seconds=MAX_RETRY_SECONDS)
        _record(item, status=NotificationStatus.PENDING, due_at=retry_at, last_error=message)
        report.retried += 1


def _release(items: list[_Outgoing]) -> None:
    """Give back claimed rows that were not tried, without counting an attempt."""
    for item in items:
        _record(item, status=NotificationStatus.PENDING, attempts=item.attempts - 1)


class _SentRecorder:
    """Marks accepted messages as sent from a thread of its own, many per commit.

    The sender hands over each message the server accepted and goes on at
    once; the recorder commits what was handed over in `RECORD_EVERY` in one
    UPDATE. A message thus waits for at most that and one commit, however
    fast the server accepts (group commit), and the sender never waits for
    the database between two messages."""

    def __init__(self, app):
        self._accepted: queue.SimpleQueue[_Outgoing | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(app,), name="outbox-recorder", daemon=True)
        self._thread.start()

    def add(self, item: _Outgoing) -> None:
        if self._error is not None:
            raise RuntimeError("recording sent notifications failed") from self._error
        self._accepted.put(item)

    def close(self) -> None:
        """Wait until everything handed over is committed."""
        self._accepted.put(None)
        self._closing.set()
        self._thread.join()
        if self._error is not None:
            raise RuntimeError("recording sent notifications failed") from self._error

    def _run(self, app) -> None:
        with app.app_context():
            try:
                # One connection for the whole run and a Core statement: a session, a pool checkout and its
                # ping per commit made a commit cost 1.3-1.7 ms of CPU on SQLite, 0.95-1.2 ms without (B5).
                with db.engine.connect() as connection:
                    while True:
                        items = [self._accepted.get()]
                        # Wait for the messages accepted in the next moment rather than commit each one
                        # alone: committing as soon as anything was accepted made 1,328 commits for 3,000
                        # messages, 0.36 ms of CPU per message (B5 on SQLite, 2026-12-05); RECORD_EVERY
                        # apart, a commit records a few dozen messages.
                        self._closing.wait(RECORD_EVERY)  # not beyond the end of the run
                        while not self._accepted.empty():
                            items.append(self._accepted.get())
                        self._commit(connection, [item for item in items if item is not None])
                        if None in items:
                            return
            except BaseException as error:  # the sender stops at its next message and re-raises it
                self._error = error

    @staticmethod
    def _commit(connection: sa.Connection, items: list[_Outgoing]) -> None:
        if not items:
            return
        now = now_utc()
        table = Notification.__table__
        updated = 0
        with connection.begin():
            pairs = sorted((item.token, item.id) for item in items)
            for token, claimed in itertools.groupby(pairs, key=lambda pair: pair[0]):
                updated += connection.execute(
                    sa.update(table).where(table.c.id.in_([id_ for _, id_ in claimed]), table.c.claim_token == token)
                    .values(status=NotificationStatus.SENT, sent_at=now, last_error=None, claim_token=None,
                            claimed_until=None, updated_at=now)
                ).rowcount
        if updated < len(items):
            log.warning("%s notification(s): their claim expired while they were being sent", len(items) - updated)


def send_due_notifications(now: dt.datetime | None = None, *, batch_size: int = BATCH_SIZE) -> SendReport:
    """Send every notification due at `now`; retry failures with backoff.

    Rules: each row is claimed by one sender; a row past `not_after` expires
    unsent; a category the recipient turned off is skipped; a failure is
    retried with exponential backoff until `CARNET_OUTBOX_MAX_ATTEMPTS`,
    then marked failed with its last error (a permanent refusal at once)."""
    now = now or now_utc()
    config = current_app.config
    sender = config["CARNET_MAIL_FROM"]
    report = SendReport()
    transport, sms = mail_transport(config), sms_backend(config)
    recorder = _SentRecorder(current_app._get_current_object())

    def outcome(item: _Outgoing, error: DeliveryError | None) -> None:
        if error is None:
            recorder.add(item)
            report.sent += 1
        else:
            _record_failure(item, error, now, report)

    try:
        # One connection for the whole run, reopened only if the server drops it.
        with transport.connection() as connection:
            while True:
                with transaction():
                    claimed, batch = _claim_batch(now, batch_size, config["CARNET_OUTBOX_MAX_ATTEMPTS"], report)
                # Stop well within the lease, so no other sender takes a row back while this one still holds it.
                deadline = time.monotonic() + LEASE.total_seconds() / 2
                for index, item in enumerate(batch):
                    if time.monotonic() > deadline:
                        _release(batch[index:])
                        break
                    try:
                        content = _render(item)
                        if item.channel is Channel.EMAIL:
                            # The server's verdict comes back later (`outcome`): this message is read by the
                            # server while the next one is rendered.
                            connection.send(build_email_message(content, sender=sender, message_id=message_id(
                                item.id, item.channel, item.key, sender)), functools.partial(outcome, item))
                        else:
                            sms.send(content.to, content.text)
                            outcome(item, None)
                    except DeliveryError as error:
                        outcome(item, error)
                # Every verdict of this batch is in before the next claim.
                connection.flush()
                # A short batch means the due rows are exhausted; a full one may have more behind it.
                if claimed < batch_size:
                    return report
    finally:
        recorder.close()
