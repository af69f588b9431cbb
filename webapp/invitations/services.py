"""Invite a patient created at the desk, and let them claim their profile.

The profile (with its appointments and notebook) exists before any account:
claiming it attaches an account to that very profile, never a copy.
Services flush but never commit; the caller wraps them in `transaction()`.
"""

import dataclasses

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, SignatureExpired

from webapp.accounts.errors import EmailTaken
from webapp.accounts.models import PatientProfile, PatientProxy, PractitionerProfile, Role, User
from webapp.accounts.passwords import password_problems
from webapp.accounts.services import (
    can_act_for_patient,
    create_patient_account,
    normalize_email,
    send_email_confirmation,
)
from webapp.accounts.verification import require_verified
from webapp.audit.services import record_event
from webapp.booking.services import can_manage_agenda, has_appointment_with
from webapp.db import now_utc
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db
from webapp.invitations.errors import (
    InvalidInvitation,
    InvalidInvitationData,
    InvitationExpired,
    InvitationRefused,
    InvitationReplaced,
    InvitationUsed,
    ProfileAlreadyClaimed,
)
from webapp.invitations.models import PatientInvitation
from webapp.notifications import messages
from webapp.notifications.services import cancel_notifications
from webapp.signing import link_serializer
from webapp.urls import external_url

DESK_ROLES = (Role.PRACTITIONER, Role.STAFF)


@dataclasses.dataclass(frozen=True)
class InvitationDesk:
    """What the desk sees before inviting: the profile and its latest invitation."""

    patient: PatientProfile
    practitioner: PractitionerProfile
    latest: PatientInvitation | None



def invitation_token(invitation: PatientInvitation) -> str:
    return link_serializer("patient-invitation").dumps({"invitation_id": invitation.id, "patient_id": invitation.patient_id,
                                "email": invitation.patient.email})


def _key_prefix(patient_id: int) -> str:
    return f"patient-invitation:{patient_id}:"


def _latest_invitation(patient_id: int) -> PatientInvitation | None:
    return db.session.scalar(sa.select(PatientInvitation).where(PatientInvitation.patient_id == patient_id)
                             .order_by(PatientInvitation.id.desc()).limit(1))


def _desk_patient(by: User, patient_id: int, practitioner_id: int) -> tuple[PatientProfile, PractitionerProfile]:
    """The profile, if `by` is this practitioner or a secretary of their clinic
    (the agenda's desk: `can_manage_agenda`) and the practitioner has (had) a
    non-cancelled appointment with the patient; 404 otherwise (an accountant too)."""
    if by.role not in DESK_ROLES:
        raise Forbidden()
    practitioner = db.session.get(PractitionerProfile, practitioner_id)
    if practitioner is None or not can_manage_agenda(by, practitioner) \
            or not has_appointment_with(practitioner.id, patient_id):
        raise NotFound()
    require_verified(practitioner)  # the desk of an agenda not verified yet is closed
    return db.session.get(PatientProfile, patient_id), practitioner


def can_invite(by: User, patient: PatientProfile, practitioner_id: int) -> bool:
    """Whether the desk may invite this patient now (no account yet, and `by` may invite)."""
    if patient.account_id is not None or by.role not in DESK_ROLES:
        return False
    try:
        _desk_patient(by, patient.id, practitioner_id)
    except (Forbidden, NotFound):
        return False
    return True


def invitation_desk(by: User, patient_id: int, practitioner_id: int) -> InvitationDesk:
    """The invite page's data, under the same rules as `invite_patient`."""
    patient, practitioner = _desk_patient(by, patient_id, practitioner_id)
    return InvitationDesk(patient, practitioner, _latest_invitation(patient.id))


def _checked_email(email: str | None) -> str:
    try:
        return normalize_email(validate_email((email or "").strip(), check_deliverability=False).normalized)
    except EmailNotValidError:
        raise InvalidInvitationData(fields={"email": [str(_l("Enter a valid email address."))]}) from None


def invite_patient(*, patient_id: int, practitioner_id: int, email: str, by: User) -> PatientInvitation:
    """Email a patient created at the desk a link to claim their profile.

    Rules: only the practitioner who has (had) an appointment with the patient,
    or a secretary of that practitioner's clinic, invites (anyone else: 404; patients
    and admins: 403); a profile that already has an account cannot be invited;
    the address the desk confirms becomes the profile's; sending again
    replaces the earlier link (and withdraws its email if still unsent).
    The email is queued in the caller's transaction."""
    patient, practitioner = _desk_patient(by, patient_id, practitioner_id)
    if patient.account_id is not None:
        raise ProfileAlreadyClaimed()
    email = _checked_email(email)
    patient.email = email
    invitation = PatientInvitation(patient=patient, practitioner=practitioner, invited_by_id=by.id)
    db.session.add(invitation)
    db.session.flush()
    cancel_notifications(_key_prefix(patient.id))
    days = current_app.config["CARNET_INVITATION_DAYS"]
    messages.notify_patient_invitation(
        key=f"{_key_prefix(patient.id)}{invitation.id}", to=email, locale=None, first_name=patient.first_name,
        practice_name=invitation.practice_name, valid_days=days,
        claim_url=external_url("invitations.claim", token=invitation_token(invitation)),
    )
    record_event("patient_profile.invited", actor=by, target_type="patient_profile", target_id=patient.id,
                 details={"invitation_id": invitation.id, "practitioner_id": practitioner.id})
    return invitation


def open_invitation(token: str) -> PatientInvitation:
    """The invitation a link carries, if it can still be claimed: signed by
    us, within `CARNET_INVITATION_DAYS`, the newest one of its profile, and
    neither used nor for a profile that has an account or another address
    since."""
    try:
        max_age = current_app.config["CARNET_INVITATION_DAYS"] * 86400
        data = link_serializer("patient-invitation").loads(token, max_age=max_age)
    except SignatureExpired:
        raise InvitationExpired() from None
    except BadData:
        raise InvalidInvitation() from None
    invitation_id = data.get("invitation_id") if isinstance(data, dict) else None
    invitation = db.session.get(PatientInvitation, invitation_id) if isinstance(invitation_id, int) else None
    if invitation is None or invitation.patient_id != data.get("patient_id"):
        raise InvalidInvitation()
    if invitation.patient.email is None or invitation.patient.email != data.get("email"):
        raise InvitationReplaced()  # the profile's address changed since
    if invitation.claimed_at is not None or invitation.patient.account_id is not None:
        raise InvitationUsed()
    if _latest_invitation(invitation.patient_id).id != invitation.id:
        raise InvitationReplaced()
    return invitation


def _mark_claimed(invitation: PatientInvitation, user: User, claimed_as: str) -> None:
    invitation.claimed_at = now_utc()
    invitation.claimed_by_id = user.id
    record_event("patient_profile.claimed", actor=user, target_type="patient_profile", target_id=invitation.patient_id,
                 details={"invitation_id": invitation.id, "account_id": user.id, "claimed_as": claimed_as})


def claim_with_new_account(token: str, *, email: str, password: str, accepted_terms: bool,
                           locale: str | None = None) -> User:
    """Create the patient's account and make the invited profile its own.

    Rules: the link must be open (`open_invitation`); the terms must be
    accepted; email and password follow the sign-up rules; an address that
    already has an account is refused (log in, then add the profile from the
    link: see `claim_as_relative`); two claims at once give one account. An
    address other than the invited one must be confirmed by email."""
    invitation = open_invitation(token)
    errors = {}
    if problems := password_problems(password):
        errors["password"] = problems
    if not accepted_terms:
        errors["accept_terms"] = [str(_l("Accept the terms of use to continue."))]
    if errors:
        raise InvalidInvitationData(fields=errors)
    try:
        user = create_patient_account(email=email, password=password, locale=locale)
    except EmailTaken:
        raise EmailTaken(fields={"email": [str(_l(
            "An account already exists with this address. Log in, then open this link again."))]}) from None
    # Conditional, so that of two claims racing for the profile only one attaches it.
    invited_email = invitation.patient.email
    attached = db.session.execute(
        sa.update(PatientProfile)
        .where(PatientProfile.id == invitation.patient_id, PatientProfile.account_id.is_(None))
        .values(account_id=user.id, email=user.email)
    )
    if attached.rowcount != 1:
        raise InvitationUsed()
    db.session.expire(user, ["patient_profile"])
    if user.email == invited_email:
        user.email_confirmed_at = now_utc()  # the link was opened from this mailbox
    else:
        send_email_confirmation(user)
    _mark_claimed(invitation, user, "own")
    return user


def claim_as_relative(token: str, *, by: User) -> PatientProfile:
    """A patient already signed in adds the invited profile to the ones they act for.

    Rules: the link must be open; only a patient account whose address is the
    invited one; if the account's own profile has the same birth date, the
    invited profile is probably the same person, and a second profile of
    oneself would split the notebook: refused (the practice books on the
    account's profile instead)."""
    invitation = open_invitation(token)
    if by.role is not Role.PATIENT:
        raise InvitationRefused(_l("This invitation is for a patient account. Log out, then open the link again."))
    if normalize_email(by.email) != invitation.patient.email:
        raise InvitationRefused(_l("This invitation was sent to another email address. "
                                   "Log out, then open the link again."))
    own = by.patient_profile
    if own is not None and own.birth_date == invitation.patient.birth_date:
        raise InvitationRefused(_l("You already have a Carnet profile with this birth date, so this one is probably "
                                   "yours: ask the practice to book your visits on your account instead."),
                                code="profile_probably_duplicate")
    if not can_act_for_patient(by, invitation.patient_id):
        db.session.add(PatientProxy(user_id=by.id, patient_id=invitation.patient_id))
    _mark_claimed(invitation, by, "relative")
    db.session.flush()
    return invitation.patient
