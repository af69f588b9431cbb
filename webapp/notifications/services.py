"""The outbox: notifications are written with the change that causes them, sent later by a job.

Other features call `enqueue_email`/`enqueue_sms` (or, better, one of the
`messages.notify_*` functions) inside their own transaction: if that
transaction rolls back, no notification exists. What is stored is the
message's facts (recipient, template, context, attachments), encrypted
(webapp.notifications.drafts); the sender renders them in the recipient's
language at send time, so later changes to the data do not alter the
message, and the causing transaction pays for no rendering.
"""

import contextlib
import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from webapp.db import now_utc
from webapp.errors import Forbidden, InvalidInput
from webapp.extensions import db
from webapp.notifications.drafts import Later, resolved, seal, unseal
from webapp.notifications.models import (
    OPTIONAL_CATEGORIES,
    Category,
    Channel,
    Notification,
    NotificationPreference,
    NotificationPreferenceChange,
    NotificationStatus,
)
from webapp.notifications.rendering import message_environment


@dataclasses.dataclass(frozen=True)
class Attachment:
    filename: str
    mime_type: str
    data: bytes
    # Of the content type, after the MIME type: a calendar file's iTIP `method`.
    parameters: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class EmailContent:
    to: str
    subject: str
    text: str
    html: str
    locale: str
    attachments: tuple[Attachment, ...] = ()


@dataclasses.dataclass(frozen=True)
class SmsContent:
    to: str
    text: str


# Rendering ------------------------------------------------------------------

def _locale_or_default(locale: str | None) -> str:
    return locale if locale in current_app.config["CARNET_LOCALES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def _html_paragraphs(body: str, links: set[str]) -> list[Markup]:
    """Plain-text paragraphs as HTML: escaped, line breaks kept; a paragraph
    that is one of the message's own `links` becomes a button."""
    paragraphs = []
    for block in body.strip().split("\n\n"):
        if not block.strip():
            continue
        lines = [line.strip() for line in block.strip().splitlines()]
        if len(lines) == 1 and lines[0] in links:
            paragraphs.append(Markup('<a class="button" href="{0}">{0}</a>').format(lines[0]))
        else:
            paragraphs.append(Markup("<br>\n").join(escape(line) for line in lines))
    return paragraphs


def _render(name: str, context: dict, locale: str) -> str:
    # Messages are written from their own data only: the Jinja template
    # alone, without the request context processors of page templates.
    return message_environment(locale).get_template(name).render(context)


_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


def _is_link(key: str) -> bool:
    # The app's own links are the context values named `*_url`; every other string may be free text.
    return key.endswith("_url")


def _free_text_on_one_line(context: dict) -> dict:
    """Free text (a reason, a message, a name) cannot add paragraphs to a
    message, so it can never pose as one of its links."""
    return {key: " ".join(value.split()) if isinstance(value, str) and not _is_link(key) else value
            for key, value in context.items()}


def render_email(template: str, context: dict, locale: str | None = None) -> tuple[str, str, str]:
    """(subject, text, html) of `notifications/<template>.txt` in `locale`.

    The text template's first line is the subject; its paragraphs become the
    HTML part, so both parts always say the same thing."""
    locale = _locale_or_default(locale)
    links = {value for key, value in context.items() if _is_link(key) and isinstance(value, str)}
    with force_locale(locale):
        context = {key: resolved(value) for key, value in context.items()}
        rendered = _render(f"notifications/{template}.txt", _free_text_on_one_line(context), locale)
        subject, _, body = rendered.partition("\n")
        subject, body = subject.strip(), _BLANK_LINES.sub("\n\n", body.strip())
        html = _render("notifications/email.html",
                       {"subject": subject, "locale": locale, "paragraphs": _html_paragraphs(body, links)}, locale)
    return subject, body + "\n", html


def render_sms(template: str, context: dict, locale: str | None = None) -> str:
    locale = _locale_or_default(locale)
    with force_locale(locale):
        context = {key: resolved(value) for key, value in context.items()}
        return " ".join(_render(f"notifications/{template}.sms.txt", context, locale).split())


def email_draft(*, to: str, template: str, context: dict, locale: str,
                attachments: Iterable[tuple] = ()) -> dict:
    """What `enqueue_email` stores (before encryption): `attachments` are (filename, MIME type,
    bytes or `Later`), optionally followed by the content type's parameters."""
    return {"to": to, "template": template, "context": context, "locale": locale, "attachments": [
        {"filename": name, "mime_type": mime, "file": data if isinstance(data, Later) else bytes(data),
         "parameters": list(dict(*parameters).items())}
        for name, mime, data, *parameters in attachments]}


def render_email_draft(draft: dict) -> EmailContent:
    """The message of a stored email draft, rendered now in its locale."""
    subject, text, html = render_email(draft["template"], draft["context"], draft["locale"])
    attachments = tuple(Attachment(a["filename"], a["mime_type"], resolved(a["file"]),
                                   tuple((name, value) for name, value in a["parameters"]))
                        for a in draft["attachments"])
    return EmailContent(to=draft["to"], subject=subject, text=text, html=html, locale=draft["locale"],
                        attachments=attachments)


def render_sms_draft(draft: dict) -> SmsContent:
    return SmsContent(to=draft["to"], text=render_sms(draft["template"], draft["context"], draft["locale"]))


def open_email(notification: Notification) -> EmailContent:
    """A stored email as its recipient will read it (rendered now, from the facts stored at enqueue time)."""
    return render_email_draft(unseal(notification.payload))


def open_sms(notification: Notification) -> SmsContent:
    return render_sms_draft(unseal(notification.payload))


# Enqueueing -------------------------------------------------------------------

@functools.cache
def _insert_ignoring_duplicates(dialect: str) -> sa.Insert:
    # Built once: building it and its cache key again took 20 µs per booking (and the
    # preferences' select below 59 µs), about 3 % of a booking's service time (2026-12-05,
    # busy machine). A plain table insert, not the ORM's bulk insert: nothing in the
    # session is affected by a new outbox row.
    table = Notification.__table__
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return insert.on_conflict_do_nothing(index_elements=["channel", "key"]).returning(table.c.channel, table.c.key)


# The rows enqueued inside `queued_together`, kept in the session until the block ends.
_BATCH = "notifications_queued_together"


@contextlib.contextmanager
def queued_together():
    """Write every notification enqueued inside the block in one INSERT at its end.

    A booking queues its confirmation and reminders (three to five rows):
    one statement instead of one each spares a round trip per message to
    the database, inside the booking's transaction. Nested blocks join the
    outer one; if the block raises, nothing is written (the transaction
    rolls back anyway)."""
    if _BATCH in db.session.info:
        yield
        return
    db.session.info[_BATCH] = []
    try:
        yield
        _insert(db.session.info[_BATCH])
    finally:
        db.session.info.pop(_BATCH, None)


def _insert(rows: list[dict]) -> None:
    if not rows:
        return
    # A new key, by far the usual case, costs no statement of its own.
    inserted = {(Channel(channel), key) for channel, key in db.session.execute(
        _insert_ignoring_duplicates(db.session.get_bind().dialect.name), rows)}
    for row in rows:
        if (row["channel"], row["key"]) in inserted:
            continue
        existing = db.session.scalar(sa.select(Notification).where(
            Notification.channel == row["channel"], Notification.key == row["key"]))
        if existing.status is NotificationStatus.CANCELLED:
            # Never sent: scheduling it again is safe (an appointment moved back).
            for name, value in row.items():
                setattr(existing, name, value)
            existing.last_error = None
            existing.claim_token = existing.claimed_until = None


def _enqueue(*, channel: Channel, key: str, category: Category, user_id: int | None,
             due_at: dt.datetime | None, not_after: dt.datetime | None, draft: dict) -> None:
    if not key or len(key) > 200:
        raise ValueError("a notification key has 1 to 200 characters")
    if user_id is not None and not is_wanted(user_id, category, channel):
        return
    now = now_utc()
    row = {
        "channel": channel, "key": key, "category": category, "user_id": user_id,
        "status": NotificationStatus.PENDING, "due_at": due_at or now, "not_after": not_after,
        "attempts": 0, "created_at": now, "updated_at": now, "payload": seal(draft),
    }
    batch = db.session.info.get(_BATCH)
    if batch is None:
        _insert([row])
    else:
        batch.append(row)


def enqueue_email(
    *, key: str, to: str, template: str, context: dict, category: Category, locale: str | None = None,
    due_at: dt.datetime | None = None, not_after: dt.datetime | None = None,
    attachments: Iterable[tuple] = (), user_id: int | None = None,
) -> None:
    """Queue an email in the caller's transaction.

    Rules: a `key` names one notification purpose and is used once per
    channel (enqueuing it again is a no-op, unless it was cancelled before
    being sent); a user who turned `category` off for email gets nothing
    (security and billing notices cannot be turned off); nothing is sent
    before `due_at` nor after `not_after`. `context` holds plain values
    (text, numbers, aware datetimes): it is stored and rendered at send
    time. `attachments` are (filename, MIME type, bytes or `Later`),
    optionally followed by the content type's parameters."""
    draft = email_draft(to=to, template=template, context=context, locale=_locale_or_default(locale),
                        attachments=attachments)
    _enqueue(channel=Channel.EMAIL, key=key, category=category, user_id=user_id,
             due_at=due_at, not_after=not_after, draft=draft)


def enqueue_sms(
    *, key: str, to: str, template: str, context: dict, category: Category, locale: str | None = None,
    due_at: dt.datetime | None = None, not_after: dt.datetime | None = None, user_id: int | None = None,
) -> None:
    """Queue a text message in the caller's transaction; same rules as `enqueue_email`."""
    _enqueue(channel=Channel.SMS, key=key, category=category, user_id=user_id, due_at=due_at, not_after=not_after,
             draft={"to": to, "template": template, "context": context, "locale": locale})


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def cancel_notifications(key_prefix: str) -> int:
    """Withdraw every notification not yet sent whose key starts with `key_prefix`.

    A notification being sent right now (claimed by a sender) is not
    withdrawn. Returns how many were cancelled."""
    if not key_prefix:
        raise ValueError("an empty prefix would cancel every notification")
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.key.like(_escape_like(key_prefix) + "%", escape="\\"),
               Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.CANCELLED, updated_at=now_utc())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


# Preferences --------------------------------------------------------------------

# What `is_wanted` read, per user, kept in the session until its transaction
# ends: a booking queues several messages to one person with one query.
_TURNED_OFF_CACHE = "notification_settings_turned_off"


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_turned_off_settings(session: Session, transaction) -> None:
    session.info.pop(_TURNED_OFF_CACHE, None)


@functools.cache  # built once, see `_insert_ignoring_duplicates`
def _turned_off_statement() -> sa.Select:
    return sa.select(NotificationPreference.category, NotificationPreference.channel).where(
        NotificationPreference.user_id == sa.bindparam("user_id", type_=sa.Integer),
        NotificationPreference.is_enabled.is_(False),
    )


def is_wanted(user_id: int, category: Category, channel: Channel) -> bool:
    """Whether this user receives `category` notifications on `channel`."""
    if not category.can_be_turned_off:
        return True
    known = db.session.info.setdefault(_TURNED_OFF_CACHE, {})
    if user_id not in known:
        rows = db.session.execute(_turned_off_statement(), {"user_id": user_id})
        known[user_id] = {(category, channel) for category, channel in rows}
    return (category, channel) not in known[user_id]


def settings_turned_off(user_ids: Iterable[int]) -> set[tuple[int, Category, Channel]]:
    """The (user, category, channel) settings turned off among these users, in one query:
    what `is_wanted` answers for many notifications at once (the sender checks a whole batch)."""
    ids = set(user_ids)
    if not ids:
        return set()
    return {(row.user_id, row.category, row.channel) for row in db.session.execute(
        sa.select(NotificationPreference.user_id, NotificationPreference.category, NotificationPreference.channel)
        .where(NotificationPreference.user_id.in_(ids), NotificationPreference.is_enabled.is_(False))
        .where(NotificationPreference.category.in_(OPTIONAL_CATEGORIES)))}


def notification_preferences(user_id: int) -> dict[tuple[Category, Channel], bool]:
    """Every category a user may turn off, per channel, with its current state."""
    stored = {(row.category, row.channel): row.is_enabled for row in db.session.scalars(
        sa.select(NotificationPreference).where(NotificationPreference.user_id == user_id))}
    return {(category, channel): stored.get((category, channel), True)
            for category in OPTIONAL_CATEGORIES for channel in Channel}


def set_notification_preferences(user_id: int, choices: dict[tuple[Category, Channel], bool], *,
                                 by_id: int) -> int:
    """Turn categories on or off per channel for the user `user_id`.

    Rules: only the user themself changes their settings; security and
    billing notices cannot be turned off; each change is recorded with its
    time and author. Which channels the account can receive is for the
    caller to check (notifications knows no account). Returns how many
    settings changed."""
    if by_id != user_id:
        raise Forbidden()
    if any(not Category(category).can_be_turned_off for category, _ in choices):
        raise InvalidInput(_l("Security and billing notices cannot be turned off."), code="notification_required")
    current = notification_preferences(user_id)
    now = now_utc()
    changed = 0
    for (category, channel), enabled in choices.items():
        category, channel, enabled = Category(category), Channel(channel), bool(enabled)
        if current[(category, channel)] == enabled:
            continue
        preference = db.session.get(NotificationPreference, (user_id, category, channel))
        if preference is None:
            db.session.add(NotificationPreference(user_id=user_id, category=category, channel=channel,
                                                  is_enabled=enabled, updated_at=now))
        else:
            preference.is_enabled, preference.updated_at = enabled, now
        db.session.add(NotificationPreferenceChange(user_id=user_id, category=category, channel=channel,
                                                    is_enabled=enabled, changed_by_id=by_id, changed_at=now))
        changed += 1
    db.session.flush()
    db.session.info.pop(_TURNED_OFF_CACHE, None)
    return changed
