"""Who the staff are: clinic memberships, the practitioners a staff member works for, the operators."""

import sqlalchemy as sa
from flask import current_app

from webapp.accounts.models import (
    ClinicMember,
    ClinicRole,
    PractitionerProfile,
    Role,
    User,
)
from webapp.extensions import db


def clinic_ids_of(user: User, clinic_role: ClinicRole | None = None) -> list[int]:
    """The clinics the user is a member of (in `clinic_role` if given)."""
    statement = sa.select(ClinicMember.clinic_id).where(ClinicMember.user_id == user.id)
    if clinic_role is not None:
        statement = statement.where(ClinicMember.clinic_role == clinic_role)
    return list(db.session.scalars(statement.order_by(ClinicMember.clinic_id)))


def practitioner_user_ids_of_clinic(staff_user: User, clinic_role: ClinicRole) -> set[int]:
    """Users of the practitioners of the clinics where this staff member holds
    `clinic_role` (a secretary's agendas, an accountant's subscribers)."""
    clinic_ids = sa.select(ClinicMember.clinic_id).where(ClinicMember.user_id == staff_user.id,
                                                         ClinicMember.clinic_role == clinic_role)
    return set(db.session.scalars(
        sa.select(PractitionerProfile.user_id).where(PractitionerProfile.clinic_id.in_(clinic_ids))
    ))


def operator_recipients() -> list[tuple[str, str | None, int | None]]:
    """Where operator alerts go, as (email, locale, user id): the
    CARNET_OPERATOR_EMAIL mailbox if set, else every active admin account."""
    if address := current_app.config["CARNET_OPERATOR_EMAIL"]:
        return [(address, None, None)]
    admins = db.session.scalars(
        sa.select(User).where(User.role == Role.ADMIN, User.is_active_account.is_(True)).order_by(User.id))
    return [(admin.email, admin.locale, admin.id) for admin in admins]
