"""Notebook entries, attachments, masking, revocations, settings, emergency grants and the access log.

Health content (titles, bodies, structured data, attachments, filenames,
emergency reasons) is stored only as ciphertext from `webapp.crypto`; the
clear columns hold what the rules and filters need (patient, kind, author,
times). Entries, attachments, emergency grants and the access log are
append-only (`info={"append_only": True}`): `webapp.notebook.guards` refuses
any ORM update or delete, and on PostgreSQL triggers refuse UPDATE, DELETE
and TRUNCATE from any client, except the owner's re-encryption of the
ciphertext columns (triggers of the baseline migration).
`NotebookDigest` is the one derived table: an encrypted copy of the current
structured data, rebuilt from the entries whenever it is not up to date.
"""

import datetime as dt
import enum
import json
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounts.models import PatientProfile, PractitionerProfile, Role, User
from webapp.booking.models import Appointment
from webapp.crypto import decrypt, encrypt
from webapp.db import enum_type, now_utc
from webapp.extensions import db


class EntryKind(enum.StrEnum):
    NOTE = "note"
    REPORT = "report"
    PRESCRIPTION = "prescription"
    EXAM_RESULT = "exam_result"
    MEASUREMENT = "measurement"
    VACCINATION = "vaccination"
    ALLERGY = "allergy"
    TREATMENT = "treatment"
    DOCUMENT = "document"


class AccessAction(enum.StrEnum):
    VIEW_NOTEBOOK = "view_notebook"
    VIEW_ENTRY = "view_entry"
    VIEW_ATTACHMENT = "view_attachment"
    VIEW_MEASUREMENTS = "view_measurements"
    ADD_ENTRY = "add_entry"
    SUPERSEDE_ENTRY = "supersede_entry"
    ADD_ATTACHMENT = "add_attachment"
    EMERGENCY_ACCESS = "emergency_access"
    # An account took the profile over (an invitation was claimed): the
    # people who acted for it until then see who did and when.
    PROFILE_CLAIMED = "profile_claimed"


class NotebookEntry(db.Model):
    """One appended entry. A correction is a new entry whose `supersedes_id`
    names the old one; the unique constraint keeps the history a single chain
    even under concurrent corrections."""

    __tablename__ = "notebook_entries"
    __table_args__ = (
        sa.Index("ix_notebook_entries_patient_created", "patient_id", "created_at"),
        sa.Index("ix_notebook_entries_patient_kind", "patient_id", "kind"),
        {"info": {"append_only": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"))
    kind: Mapped[EntryKind] = mapped_column(enum_type(EntryKind))
    # Fernet token of {"title", "body", "data"} as JSON.
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    author_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    author_role: Mapped[Role] = mapped_column(enum_type(Role))
    author_practitioner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("practitioner_profiles.id"))
    appointment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointments.id"), index=True)
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notebook_entries.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    patient: Mapped[PatientProfile] = relationship()
    author: Mapped[User] = relationship()
    author_practitioner: Mapped[PractitionerProfile | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()
    supersedes: Mapped["NotebookEntry | None"] = relationship(
        remote_side=[id], foreign_keys=[supersedes_id], back_populates="superseded_by",
    )
    superseded_by: Mapped["NotebookEntry | None"] = relationship(
        foreign_keys=[supersedes_id], back_populates="supersedes", uselist=False,
    )
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="entry", order_by="Attachment.created_at",
    )
    masks: Mapped[list["EntryMask"]] = relationship(back_populates="entry", cascade="all, delete-orphan")

    @staticmethod
    def seal(title: str, body: str, data: dict | None) -> bytes:
        return encrypt(json.dumps({"title": title, "body": body, "data": data}).encode())

    @staticmethod
    def unseal(content: bytes) -> dict:
        return json.loads(decrypt(content))

    @cached_property
    def _clear(self) -> dict:
        # Decrypted on first use only, so a page decrypts just what it shows.
        return self.unseal(self.content)

    @property
    def title(self) -> str:
        return self._clear["title"]

    @property
    def body(self) -> str:
        return self._clear["body"]

    @property
    def data(self) -> dict | None:
        return self._clear["data"]

    @property
    def hidden_from_practitioner_ids(self) -> list[int]:
        return sorted(mask.practitioner_id for mask in self.masks)

    @property
    def is_superseded(self) -> bool:
        return self.superseded_by is not None

    @property
    def author_name(self) -> str:
        if self.author_practitioner is not None:
            return self.author_practitioner.full_name
        profile = self.author.patient_profile
        return profile.full_name if profile is not None else self.author.email


class Attachment(db.Model):
    """A file of an entry, stored encrypted in the database under a random id."""

    __tablename__ = "notebook_attachments"
    __table_args__ = ({"info": {"append_only": True}},)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("notebook_entries.id"), index=True)
    content_type: Mapped[str] = mapped_column(sa.String(50))
    size_bytes: Mapped[int]
    filename: Mapped[bytes] = mapped_column(sa.LargeBinary)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    author_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    entry: Mapped[NotebookEntry] = relationship(back_populates="attachments")

    @property
    def original_filename(self) -> str:
        return decrypt(self.filename).decode()


class EntryMask(db.Model):
    """The patient hides this entry from this practitioner."""

    __tablename__ = "notebook_entry_masks"

    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("notebook_entries.id"), primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    entry: Mapped[NotebookEntry] = relationship(back_populates="masks")
    practitioner: Mapped[PractitionerProfile] = relationship()


class Revocation(db.Model):
    """The patient withdrew this practitioner's access to the whole notebook."""

    __tablename__ = "notebook_revocations"

    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"), primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class NotebookSettings(db.Model):
    """The patient side's choices about the whole notebook; no row means the defaults."""

    __tablename__ = "notebook_settings"

    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"), primary_key=True)
    # Refuses every emergency ("bris de glace") access, as Mon Espace Santé allows.
    emergency_access_locked: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc, onupdate=now_utc)


class EmergencyAccess(db.Model):
    """A time-limited read access opened by a practitioner with a stated reason."""

    __tablename__ = "notebook_emergency_accesses"
    __table_args__ = (
        sa.CheckConstraint("granted_at < expires_at", name="period"),
        sa.Index("ix_notebook_emergency_accesses_lookup", "patient_id", "practitioner_id", "expires_at"),
        # The daily limit counts a practitioner's recent grants.
        sa.Index("ix_notebook_emergency_accesses_practitioner_granted", "practitioner_id", "granted_at"),
        {"info": {"append_only": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"))
    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[bytes] = mapped_column(sa.LargeBinary)
    granted_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    expires_at: Mapped[dt.datetime]

    patient: Mapped[PatientProfile] = relationship()
    practitioner: Mapped[PractitionerProfile] = relationship()

    @property
    def stated_reason(self) -> str:
        return decrypt(self.reason).decode()


class NotebookDigest(db.Model):
    """One part of the current (not superseded) structured entries of a notebook,
    decrypted once and stored again as one encrypted row, so that a view needs
    one decryption per part it shows instead of one per entry
    (`webapp.notebook.digest` says which parts there are).

    It is derived data, never a source: `entry_count` is the number of
    structured entries of the notebook the part was written at, and a digest
    with a part whose count differs from the table's is rebuilt (entries are
    append-only, so equal counts mean the same entries). Masking is applied
    when reading, per reader."""

    __tablename__ = "notebook_digests"
    __table_args__ = (sa.UniqueConstraint("patient_id", "part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"))
    part: Mapped[str] = mapped_column(sa.String(40))
    entry_count: Mapped[int]
    # Fernet token of the part's JSON.
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    @staticmethod
    def seal(part) -> bytes:
        return encrypt(json.dumps(part, separators=(",", ":")).encode())

    @staticmethod
    def unseal(content: bytes):
        return json.loads(decrypt(content))


class AccessLogEntry(db.Model):
    """One read or write of a notebook by someone other than the patient side."""

    __tablename__ = "notebook_access_log"
    __table_args__ = (
        sa.Index("ix_notebook_access_log_patient_at", "patient_id", "at"),
        {"info": {"append_only": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"))
    actor_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    actor_role: Mapped[Role] = mapped_column(enum_type(Role))
    action: Mapped[AccessAction] = mapped_column(enum_type(AccessAction))
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notebook_entries.id"))
    emergency: Mapped[bool] = mapped_column(default=False)
    at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    actor: Mapped[User] = relationship()

    @property
    def actor_name(self) -> str:
        profile = self.actor.practitioner_profile
        return profile.full_name if profile is not None else self.actor.email
