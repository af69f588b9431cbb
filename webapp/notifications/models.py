"""The outbox of notifications and the patients' notification settings."""

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import enum_type, now_utc
from webapp.extensions import db


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"

    @property
    def label(self):
        return {Channel.EMAIL: _l("Email"), Channel.SMS: _l("SMS")}[self]


class Category(enum.StrEnum):
    """What a notification is about; patients choose per category and channel."""

    SECURITY = "security"
    APPOINTMENTS = "appointments"
    REMINDERS = "reminders"
    WAITLIST = "waitlist"
    NOTEBOOK = "notebook"
    BILLING = "billing"

    @property
    def can_be_turned_off(self) -> bool:
        # Security notices (sign-in, password, emergency access to the
        # notebook) and billing notices of a subscription are always sent.
        return self not in (Category.SECURITY, Category.BILLING)

    @property
    def label(self):
        return {
            Category.SECURITY: _l("Security notices"),
            Category.APPOINTMENTS: _l("Appointment confirmations, changes and cancellations"),
            Category.REMINDERS: _l("Appointment reminders"),
            Category.WAITLIST: _l("Waiting-list offers"),
            Category.NOTEBOOK: _l("New entries in my notebook"),
            Category.BILLING: _l("Billing"),
        }[self]


OPTIONAL_CATEGORIES = [category for category in Category if category.can_be_turned_off]


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"      # waiting for its due time (or for a retry)
    SENDING = "sending"      # claimed by a sender until `claimed_until`
    SENT = "sent"
    FAILED = "failed"        # gave up after the last attempt; `last_error` says why
    CANCELLED = "cancelled"  # withdrawn before sending (a cancelled appointment's reminders)
    EXPIRED = "expired"      # not sent before `not_after` (e.g. a reminder after downtime)
    SKIPPED = "skipped"      # the recipient turned this category off before it was sent


class Notification(db.Model):
    """One message to send, written in the transaction of the change that causes it.

    `payload` holds the message's facts (recipient, template, context,
    attachments or what their renderer needs) encrypted with the configured
    keys: only the sender reads it, and renders the message just before
    sending it (webapp.notifications.drafts).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("channel", "key", name="uq_notifications_channel_key"),
        sa.Index("ix_notifications_status_due_at", "status", "due_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    key: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[Category] = mapped_column(enum_type(Category))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[NotificationStatus] = mapped_column(enum_type(NotificationStatus),
                                                       default=NotificationStatus.PENDING)
    due_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    not_after: Mapped[dt.datetime | None]
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary)
    attempts: Mapped[int] = mapped_column(default=0)
    claim_token: Mapped[str | None] = mapped_column(sa.String(36))
    claimed_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc, onupdate=now_utc)
    sent_at: Mapped[dt.datetime | None]

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.channel} {self.key} {self.status}>"


class NotificationPreference(db.Model):
    """A user's choice for one category on one channel (absent: on)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    category: Mapped[Category] = mapped_column(enum_type(Category), primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel), primary_key=True)
    is_enabled: Mapped[bool]
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class NotificationPreferenceChange(db.Model):
    """History of the settings: who turned what on or off, and when."""

    __tablename__ = "notification_preference_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    category: Mapped[Category] = mapped_column(enum_type(Category))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    is_enabled: Mapped[bool]
    changed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
