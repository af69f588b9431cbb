"""Invitations' cast: a patient created at the desk, their practitioner and everyone who may not invite."""

from dataclasses import dataclass

from tests import factories
from tests.booking.factories import local_start, make_appointment
from webapp.accounts.models import ClinicRole, PatientProfile, PractitionerProfile, Role, User
from webapp.extensions import db
from webapp.invitations import services
from webapp.invitations.models import PatientInvitation
from webapp.transaction import transaction

STRONG = "Carnet-de-sante-42"


@dataclass
class Desk:
    patient: PatientProfile
    practitioner: PractitionerProfile
    staff: User
    appointment: object
    users: dict


def make_desk() -> Desk:
    """A desk patient booked with a clinic practitioner, and one user per role to check."""
    clinic = factories.make_clinic()
    practitioner = factories.make_practitioner(clinic=clinic)
    patient = factories.make_desk_patient(first_name="Léa", email="lea.martin@example.org",
                                          desk_practitioner_id=practitioner.id)
    appointment = make_appointment(practitioner, patient, local_start(3))
    staff = factories.make_staff(clinic=clinic)
    untreating = factories.make_practitioner(clinic=clinic)  # same clinic, never saw the patient
    other_staff = factories.make_staff(clinic=factories.make_clinic())
    users = {
        "practitioner": practitioner.user, "staff": staff, "untreating": untreating.user, "other_staff": other_staff,
        "patient": factories.make_patient().account, "admin": factories.make_staff(role=Role.ADMIN),
        "accountant": factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT),
    }
    return Desk(patient, practitioner, staff, appointment, users)


def invite(desk: Desk, *, by: User | None = None, email: str = "lea.martin@example.org") -> str:
    """Send an invitation as the practitioner (or `by`); returns the link's token."""
    with transaction():
        invitation = services.invite_patient(patient_id=desk.patient.id, practitioner_id=desk.practitioner.id,
                                             email=email, by=by or desk.practitioner.user)
    return services.invitation_token(invitation)


def invitations_of(patient: PatientProfile) -> list[PatientInvitation]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(PatientInvitation).where(PatientInvitation.patient_id == patient.id)))


def claim(token: str, *, email: str = "lea.martin@example.org", password: str = STRONG,
          accepted_terms: bool = True) -> User:
    """Claim the invited profile with a new account, as the patient's browser would."""
    with transaction():
        return services.claim_with_new_account(token, email=email, password=password, accepted_terms=accepted_terms)
