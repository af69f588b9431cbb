"""Accounts, patient and practitioner profiles, clinics and API tokens."""

import datetime as dt
import enum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import enum_type, now_utc
from webapp.extensions import db


class Role(enum.StrEnum):
    PATIENT = "patient"
    PRACTITIONER = "practitioner"
    STAFF = "staff"
    ADMIN = "admin"

    @property
    def requires_totp(self) -> bool:
        return self in (Role.PRACTITIONER, Role.STAFF, Role.ADMIN)


class Sex(enum.StrEnum):
    """Administrative sex as the patient gives it (FHIR `gender`); never guessed."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Verification(enum.StrEnum):
    """Whether the back office (or Pro Santé Connect) confirmed a practitioner is one."""

    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class VerificationMethod(enum.StrEnum):
    DOCUMENT = "document"  # the back office checked documents (diploma, card, registration)
    DIRECTORY = "directory"  # the back office found a consistent entry in the public RPPS directory
    PRO_SANTE_CONNECT = "pro_sante_connect"  # logged in with an e-CPS: verified by the login itself


class ClinicRole(enum.StrEnum):
    PRACTITIONER = "practitioner"
    SECRETARY = "secretary"
    ACCOUNTANT = "accountant"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    email_confirmed_at: Mapped[dt.datetime | None]
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[dt.datetime | None]
    # The time step (Unix time // 30) of the last TOTP code accepted: a code
    # of this step or an older one is refused (a code opens one action).
    totp_last_step: Mapped[int | None]
    is_active_account: Mapped[bool] = mapped_column(default=True)
    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    patient_profile: Mapped["PatientProfile | None"] = relationship(
        back_populates="account", foreign_keys="PatientProfile.account_id"
    )
    practitioner_profile: Mapped["PractitionerProfile | None"] = relationship(back_populates="user")

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    @property
    def has_totp(self) -> bool:
        return self.totp_enabled_at is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class PatientProfile(db.Model):
    """A person who receives care. It may exist before any account claims it
    (created at the desk) and may be managed by other accounts (relatives)."""

    __tablename__ = "patient_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    birth_date: Mapped[dt.date] = mapped_column(index=True)
    sex: Mapped[Sex | None] = mapped_column(enum_type(Sex))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    # The agenda at whose desk the profile was created: that practice knows the
    # patient before any appointment.
    desk_practitioner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("practitioner_profiles.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    account: Mapped[User | None] = relationship(
        back_populates="patient_profile", foreign_keys=[account_id]
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class PatientProxy(db.Model):
    """An account that acts for a patient profile (a parent for a child...)."""

    __tablename__ = "patient_proxies"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"), primary_key=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    user: Mapped[User] = relationship()
    patient: Mapped[PatientProfile] = relationship()


class Clinic(db.Model):
    __tablename__ = "clinics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    address: Mapped[str] = mapped_column(sa.String(200))
    postcode: Mapped[str] = mapped_column(sa.String(10))
    city: Mapped[str] = mapped_column(sa.String(100))
    siret: Mapped[str | None] = mapped_column(sa.String(14))
    billing_email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    members: Mapped[list["ClinicMember"]] = relationship(back_populates="clinic")


class ClinicMember(db.Model):
    __tablename__ = "clinic_members"

    clinic_id: Mapped[int] = mapped_column(sa.ForeignKey("clinics.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    clinic_role: Mapped[ClinicRole] = mapped_column(enum_type(ClinicRole))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    clinic: Mapped[Clinic] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class PractitionerProfile(db.Model):
    __tablename__ = "practitioner_profiles"
    __table_args__ = (
        sa.Index("ix_practitioner_profiles_specialty_city", "specialty", "city"),
        sa.Index("ix_practitioner_profiles_postcode", "postcode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    first_name: Mapped[str] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(100))
    rpps: Mapped[str] = mapped_column(sa.String(11), unique=True)
    specialty: Mapped[str] = mapped_column(sa.String(50))
    address: Mapped[str] = mapped_column(sa.String(200))
    postcode: Mapped[str] = mapped_column(sa.String(10))
    city: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    clinic_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clinics.id"))
    # Since when a Pro Santé Connect (e-CPS) login may open this account by
    # itself: set when the account is created from that login, or linked by
    # its password (webapp/accounts/pro_sante_connect/services.py).
    pro_sante_connect_linked_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    # Set by webapp.accounts.verification only: pending until the back office
    # or a Pro Santé Connect login decides.
    verification: Mapped[Verification] = mapped_column(enum_type(Verification), default=Verification.PENDING,
                                                       index=True)
    verified_at: Mapped[dt.datetime | None]
    verification_method: Mapped[VerificationMethod | None] = mapped_column(enum_type(VerificationMethod))
    verification_note: Mapped[str | None] = mapped_column(sa.String(500))
    rejected_at: Mapped[dt.datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(1000))

    user: Mapped[User] = relationship(back_populates="practitioner_profile")
    clinic: Mapped[Clinic | None] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @hybrid_property
    def is_verified(self) -> bool:
        """True once verified; in a query, the condition of the listed practitioners."""
        return self.verification == Verification.VERIFIED


class ApiToken(db.Model):
    """A bearer token, stored only as its SHA-256 digest."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class BrowserSession(db.Model):
    """A logged-in browser session, so that the server can end it: the signed
    cookie holds a random token, this row only its SHA-256 digest."""

    __tablename__ = "browser_sessions"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc, index=True)
    ended_at: Mapped[dt.datetime | None]
