"""Who manages which agenda: a practitioner their own, a clinic's secretaries its practitioners'."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.accounts.models import ClinicRole, PractitionerProfile, Role, User
from webapp.accounts.staff import clinic_ids_of, practitioner_user_ids_of_clinic
from webapp.accounts.verification import require_verified
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db


def own_practitioner(user: User) -> PractitionerProfile:
    """The practitioner profile of a practitioner account; anyone else is refused."""
    if user.role is not Role.PRACTITIONER or user.practitioner_profile is None:
        raise Forbidden()
    return user.practitioner_profile


# A clinic's staff runs its practitioners' agendas and desk only as secretaries;
# an accountant's part is billing (webapp.billing.scope.back_office_scope).
AGENDA_CLINIC_ROLE = ClinicRole.SECRETARY


def managed_practitioners(user: User) -> list[PractitionerProfile]:
    """The agendas a user manages: a practitioner their own, a clinic
    secretary those of their clinic's practitioners. Only verified
    practitioners have one: a practitioner not verified is refused (403
    `practitioner_not_verified`), a secretary does not see those of her clinic.
    Anyone else (an accountant, the operator's staff, a patient) manages none."""
    if user.role is Role.PRACTITIONER and user.practitioner_profile is not None:
        require_verified(user.practitioner_profile)
        return [user.practitioner_profile]
    if user.role is Role.STAFF:
        user_ids = practitioner_user_ids_of_clinic(user, AGENDA_CLINIC_ROLE)
        return list(db.session.scalars(
            sa.select(PractitionerProfile).where(PractitionerProfile.user_id.in_(user_ids),
                                                 PractitionerProfile.is_verified)
            .order_by(PractitionerProfile.last_name, PractitionerProfile.first_name)
        ))
    return []


def can_manage_agenda(user: User, practitioner: PractitionerProfile) -> bool:
    """The practitioner themself, or a secretary of their clinic: the desk of
    this agenda (book, walk-ins, arrivals, cancellations, invitations)."""
    if user.role is Role.PRACTITIONER:
        return practitioner.user_id == user.id
    if user.role is Role.STAFF:
        return practitioner.user_id in practitioner_user_ids_of_clinic(user, AGENDA_CLINIC_ROLE)
    return False


def no_such_practitioner() -> NotFound:
    return NotFound(_l("No such practitioner."))


def works_at_a_desk(user: User) -> bool:
    """Whether the user has an agenda and a desk at all (menus, pages): a
    verified practitioner, or a secretary of a clinic."""
    if user.role is Role.PRACTITIONER:
        return user.practitioner_profile is not None and user.practitioner_profile.is_verified
    return user.role is Role.STAFF and bool(clinic_ids_of(user, AGENDA_CLINIC_ROLE))


def get_practitioner(practitioner_id: int) -> PractitionerProfile:
    practitioner = db.session.get(PractitionerProfile, practitioner_id)
    if practitioner is None:
        raise no_such_practitioner()
    return practitioner


def listed_practitioner(practitioner_id: int) -> PractitionerProfile:
    """A practitioner as the public sees them: only verified ones exist (404
    for the others, exactly as for an unknown id)."""
    practitioner = get_practitioner(practitioner_id)
    if not practitioner.is_verified:
        raise no_such_practitioner()
    return practitioner


def managed_practitioner(user: User, practitioner_id: int) -> PractitionerProfile:
    """An agenda the user manages, for desk work: 403 for another agenda,
    and 403 `practitioner_not_verified` while its practitioner is not verified."""
    practitioner = get_practitioner(practitioner_id)
    if not can_manage_agenda(user, practitioner):
        raise Forbidden(_l("You do not manage this agenda."))
    require_verified(practitioner)
    return practitioner
