"""Patient identities (INS), shared-record consent history and the push outbox.

The NIR, the queued document and the recipient's answer are stored only as
ciphertext from `webapp.crypto`; clear columns hold what the rules and the
job need (status, times, counters, the document's unique id).
"""

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounts.models import User
from webapp.crypto import decrypt
from webapp.db import enum_type, now_utc
from webapp.extensions import db


class IdentityStatus(enum.StrEnum):
    """The four statuses of the national identity rules (RNIV / Référentiel INS).

    - provisional ("provisoire"): typed or declared, neither checked against an
      identity document nor returned by the INSi teleservice;
    - recovered ("récupérée"): returned or confirmed by INSi, no ID document checked;
    - validated ("validée"): a professional checked an identity document, no INSi answer;
    - qualified ("qualifiée"): an ID document checked and an INSi answer that
      confirms the INS and its traits. Only a qualified INS leaves Carnet.
    """

    PROVISIONAL = "provisional"
    RECOVERED = "recovered"
    VALIDATED = "validated"
    QUALIFIED = "qualified"


class PushStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PatientIdentity(db.Model):
    """A patient's INS (NIR) and its RNIV status (see `IdentityStatus`)."""

    __tablename__ = "dmp_patient_identities"

    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"), primary_key=True)
    nir: Mapped[bytes] = mapped_column(sa.LargeBinary)
    status: Mapped[IdentityStatus] = mapped_column(enum_type(IdentityStatus))
    recorded_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    recorded_by: Mapped[User] = relationship()

    @property
    def ins(self) -> str:
        return decrypt(self.nir).decode()


class ConsentRecord(db.Model):
    """One consent to (or withdrawal from) the push to a shared record; the latest counts."""

    __tablename__ = "dmp_consents"
    __table_args__ = (sa.Index("ix_dmp_consents_patient_id_id", "patient_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"))
    consent: Mapped[bool]
    actor_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class DocumentPush(db.Model):
    """One notebook document queued for the shared record. `document_id` is
    the document's unique id (masterIdentifier): every attempt sends it, so a
    recipient keeps one document however often it is sent."""

    __tablename__ = "dmp_document_pushes"
    __table_args__ = (
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.Index("ix_dmp_document_pushes_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("notebook_entries.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"), index=True)
    document_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    replaces_document_id: Mapped[str | None] = mapped_column(sa.String(64))
    # Fernet token of the document as JSON (see webapp.dmp.documents).
    payload: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    status: Mapped[PushStatus] = mapped_column(enum_type(PushStatus), default=PushStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    last_attempt_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    # Status codes and error classes only, never content.
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    # Fernet token of the recipient's OperationOutcome for a refused document.
    outcome: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    @property
    def operation_outcome(self) -> str | None:
        return decrypt(self.outcome).decode() if self.outcome else None
