"""Invitations sent to patients whose profile was created at the desk."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.accounts.models import PatientProfile, PractitionerProfile, User
from webapp.db import now_utc
from webapp.extensions import db


class PatientInvitation(db.Model):
    """One invitation email, sent to the profile's address (which the link
    also carries, so the address is stored once, on the profile). Only the
    newest invitation of a profile can be claimed: sending again replaces
    the earlier link."""

    __tablename__ = "patient_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient_profiles.id"), index=True)
    # The practice the invitation comes from (named on the claim page); none
    # when the account acting for the patient sent it ("give Léo his own account").
    practitioner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("practitioner_profiles.id"))
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    claimed_at: Mapped[dt.datetime | None]
    claimed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    patient: Mapped[PatientProfile] = relationship()
    practitioner: Mapped[PractitionerProfile | None] = relationship()
    invited_by: Mapped[User] = relationship(foreign_keys=[invited_by_id])

    @property
    def is_from_proxy(self) -> bool:
        return self.practitioner_id is None

    @property
    def practice_name(self) -> str:
        if self.practitioner is None:
            profile = self.invited_by.patient_profile
            return profile.full_name if profile is not None else self.invited_by.email
        clinic = self.practitioner.clinic
        return clinic.name if clinic is not None else self.practitioner.full_name
