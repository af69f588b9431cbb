"""Invite a patient to claim their profile: from the desk that created it,
or from the account that acts for them ("give Léo his own account").

The profile (with its appointments and notebook) exists before any account:
claiming it attaches an account to that very profile, never a copy. A desk
invites only a profile created at an agenda it manages, with no account and
nobody acting for it, whose practitioner the patient has not revoked; a
profile someone acts for gets its own account only through them. A claim
tells the proxies and the previous address, and goes to the access log.
Services flush but never commit; the caller wraps them in `transaction()`.
"""

import dataclasses
import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, SignatureExpired

from webapp.accounts.email_confirmation import send_email_confirmation
from webapp.accounts.errors import EmailTaken
from webapp.accounts.identity_rules import is_adult
from webapp.accounts.models import PatientProfile, PatientProxy, PractitionerProfile, Role, User
from webapp.accounts.passwords import password_problems
from webapp.accounts.proxies import account_name, proxy_accounts, remove_proxies
from webapp.accounts.registration import create_patient_account, normalize_email
from webapp.accounts.relatives import can_act_for_patient
from webapp.accounts.verification import require_verified
from webapp.audit.services import record_event
from webapp.booking.agendas import can_manage_agenda
from webapp.booking.treating import has_appointment_with
from webapp.db import now_utc
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db
from webapp.invitations.errors import (
    InvalidInvitation,
    InvalidInvitationData,
    InvitationExpired,
    InvitationPending,
    InvitationRefused,
    InvitationReplaced,
    InvitationUsed,
    InvitationWithdrawn,
    ProfileAlreadyClaimed,
    ProfileHasProxy,
)
from webapp.invitations.models import PatientInvitation
from webapp.notebook import controls
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
    # The address is signed in: if the desk corrects it, links sent to the
    # old one stop working (`open_invitation` compares it).
    return link_serializer("patient-invitation").dumps(
        {"invitation_id": invitation.id, "patient_id": invitation.patient_id, "email": invitation.patient.email})


def _key_prefix(patient_id: int) -> str:
    # Every invitation mail of a profile shares this outbox key prefix, so a
    # new invitation withdraws the unsent mail of the previous one.
    return f"patient-invitation:{patient_id}:"


def _latest_invitation(patient_id: int) -> PatientInvitation | None:
    return db.session.scalar(sa.select(PatientInvitation).where(PatientInvitation.patient_id == patient_id)
                             .order_by(PatientInvitation.id.desc()).limit(1))


def _desk_patient(by: User, patient_id: int, practitioner_id: int) -> tuple[PatientProfile, PractitionerProfile]:
    """The profile, if `by` manages this practitioner's agenda (the practitioner
    or a secretary of their clinic: `can_manage_agenda`), the profile was created at that agenda's desk,
    the practitioner has (had) a non-cancelled appointment with the patient,
    and the patient has not revoked the practitioner; 404 otherwise (an
    accountant too; the desk learns nothing of a revocation)."""
    if by.role not in DESK_ROLES:
        raise Forbidden()
    practitioner = db.session.get(PractitionerProfile, practitioner_id)
    patient = db.session.get(PatientProfile, patient_id)
    if practitioner is None or patient is None or not can_manage_agenda(by, practitioner) \
            or patient.desk_practitioner_id != practitioner.id \
            or not has_appointment_with(practitioner.id, patient_id) \
            or controls.is_practitioner_revoked(patient_id, practitioner.id):
        raise NotFound()
    require_verified(practitioner)  # the desk of an agenda not verified yet is closed
    return patient, practitioner


def _has_proxy(patient_id: int) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(PatientProxy.patient_id == patient_id)))


def _check_desk_may_invite(patient: PatientProfile) -> None:
    """Only a profile nobody owns or acts for: otherwise the desk would choose
    who takes it over."""
    if patient.account_id is not None:
        raise ProfileAlreadyClaimed()
    if _has_proxy(patient.id):
        raise ProfileHasProxy()


def can_invite(by: User, patient: PatientProfile, practitioner_id: int) -> bool:
    """Whether the desk may invite this patient now (`invite_patient`'s rules)."""
    if by.role not in DESK_ROLES:
        return False
    # The same checks as the invite page, answered as a yes/no so the agenda
    # shows the action only where following it would succeed.
    try:
        _check_desk_may_invite(_desk_patient(by, patient.id, practitioner_id)[0])
    except (Forbidden, NotFound, ProfileAlreadyClaimed, ProfileHasProxy):
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


def _is_pending(invitation: PatientInvitation | None) -> bool:
    if invitation is None or invitation.claimed_at is not None:
        return False
    return now_utc() - invitation.created_at < dt.timedelta(days=current_app.config["CARNET_INVITATION_DAYS"])


def _new_invitation(patient: PatientProfile, *, by: User,
                    practitioner: PractitionerProfile | None) -> PatientInvitation:
    invitation = PatientInvitation(patient=patient, practitioner=practitioner, invited_by_id=by.id)
    db.session.add(invitation)
    db.session.flush()
    cancel_notifications(_key_prefix(patient.id))
    return invitation


def invite_patient(*, patient_id: int, practitioner_id: int, email: str, by: User) -> PatientInvitation:
    """Email a patient created at the desk a link to claim their profile.

    Rules: only the desk of the agenda where the profile was created (the
    practitioner, or a secretary of their clinic), of a verified practitioner, with a (past) appointment and
    not revoked by the patient, invites (anyone else: 404; patients and
    admins: 403); a profile with an account or someone acting for it cannot
    be invited (409); the address the desk confirms becomes the profile's,
    but cannot change while an invitation is pending (409); sending again
    replaces the earlier link (and withdraws its email if still unsent).
    The email is queued in the caller's transaction."""
    patient, practitioner = _desk_patient(by, patient_id, practitioner_id)
    _check_desk_may_invite(patient)
    email = _checked_email(email)
    # While a link is out, changing the address would silently kill it
    # (`invitation_token` signs the address): the desk must wait or resend.
    if email != patient.email and _is_pending(_latest_invitation(patient.id)):
        raise InvitationPending(fields={"email": [str(InvitationPending.default_message)]})
    patient.email = email
    invitation = _new_invitation(patient, by=by, practitioner=practitioner)
    days = current_app.config["CARNET_INVITATION_DAYS"]
    messages.notify_patient_invitation(
        key=f"{_key_prefix(patient.id)}{invitation.id}", to=email, locale=None, first_name=patient.first_name,
        practice_name=invitation.practice_name, valid_days=days,
        claim_url=external_url("invitations.claim", token=invitation_token(invitation)),
    )
    record_event("patient_profile.invited", actor=by, target_type="patient_profile", target_id=patient.id,
                 details={"invitation_id": invitation.id, "practitioner_id": practitioner.id})
    return invitation


def relative_to_invite(by: User, patient_id: int) -> PatientProfile:
    """The profile `by` acts for and may give its own account (`invite_relative`'s rules); 404 otherwise."""
    patient = db.session.get(PatientProfile, patient_id) if isinstance(patient_id, int) else None
    if patient is None or by.role is not Role.PATIENT or patient.account_id is not None \
            or db.session.get(PatientProxy, (by.id, patient_id)) is None:
        raise NotFound()
    return patient


def invite_relative(*, patient_id: int, email: str, by: User) -> PatientInvitation:
    """A proxy gives the profile it acts for its own account ("give Léo his own
    account"): an invitation to the address the proxy types, claimed like a
    desk invitation. Only an account acting for a profile that has no account
    yet (anyone else: 404). Sending again replaces the earlier link."""
    patient = relative_to_invite(by, patient_id)
    email = _checked_email(email)
    # The relative's own account must not land in the proxy's mailbox: the
    # proxy would then hold both accounts.
    if normalize_email(by.email) == email:
        raise InvalidInvitationData(fields={"email": [str(_l(
            "This is your own address: give the address of %(name)s.", name=patient.first_name))]})
    patient.email = email
    invitation = _new_invitation(patient, by=by, practitioner=None)
    messages.notify_relative_invitation(
        key=f"{_key_prefix(patient.id)}{invitation.id}", to=email, locale=by.locale, first_name=patient.first_name,
        proxy_name=account_name(by), valid_days=current_app.config["CARNET_INVITATION_DAYS"],
        claim_url=external_url("invitations.claim", token=invitation_token(invitation)),
    )
    record_event("patient_profile.invited", actor=by, target_type="patient_profile", target_id=patient.id,
                 details={"invitation_id": invitation.id, "by": "proxy"})
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
    if invitation.practitioner_id is not None and _has_proxy(invitation.patient_id):
        raise InvitationWithdrawn()  # a desk link never hands over a profile someone acts for
    return invitation


def claimable_proxies(invitation: PatientInvitation) -> list[User]:
    """The accounts acting for the invited profile, which an adult claiming it
    chooses to keep or not (a child's stay)."""
    return proxy_accounts(invitation.patient_id)


def claimant_decides_proxies(invitation: PatientInvitation) -> bool:
    """An adult owner decides which proxies stay; a child's keep acting until 18."""
    return is_adult(invitation.patient.birth_date)


def _mark_claimed(invitation: PatientInvitation, user: User, claimed_as: str, *, previous_email: str | None,
                  proxies: list[User], kept_ids: set[int]) -> None:
    """Record the claim (audit trail and the notebook's access log) and tell
    the proxies and the profile's previous address."""
    invitation.claimed_at = now_utc()
    invitation.claimed_by_id = user.id
    record_event("patient_profile.claimed", actor=user, target_type="patient_profile", target_id=invitation.patient_id,
                 details={"invitation_id": invitation.id, "account_id": user.id, "claimed_as": claimed_as})
    controls.log_profile_claimed(invitation.patient_id, user)
    name = invitation.patient.full_name
    key = f"profile-claimed:{invitation.patient_id}:{invitation.id}"
    told = {normalize_email(user.email)}
    for proxy in proxies:
        if proxy.id != user.id:
            messages.notify_profile_claimed(key=f"{key}:user-{proxy.id}", to=proxy.email, locale=proxy.locale,
                                            patient_name=name, still_proxy=proxy.id in kept_ids, user_id=proxy.id)
            told.add(normalize_email(proxy.email))
    if previous_email and normalize_email(previous_email) not in told:
        messages.notify_profile_claimed(key=f"{key}:previous-address", to=previous_email, locale=None,
                                        patient_name=name, still_proxy=False)


def claim_with_new_account(token: str, *, email: str, password: str, accepted_terms: bool,
                           locale: str | None = None, keep_proxy_ids: Iterable[int] = ()) -> User:
    """Create the patient's account and make the invited profile its own.

    Rules: the link must be open (`open_invitation`); the terms must be
    accepted; email and password follow the sign-up rules; an address that
    already has an account is refused (log in, then add the profile from the
    link: see `claim_as_relative`); two claims at once give one account. An
    address other than the invited one must be confirmed by email. An adult
    (18 or over) decides which proxies keep acting (`keep_proxy_ids`, none
    by default); a child's proxies all stay. The proxies and the previous
    address are told; the access log shows the claim."""
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
    proxies = claimable_proxies(invitation)
    kept = {proxy.id for proxy in proxies}
    if claimant_decides_proxies(invitation):
        kept &= set(keep_proxy_ids)
        remove_proxies(invitation.patient_id, {proxy.id for proxy in proxies} - kept, by=user)
    _mark_claimed(invitation, user, "own", previous_email=invited_email, proxies=proxies, kept_ids=kept)
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
    if invitation.practitioner_id is None:
        raise InvitationRefused(_l("This invitation gives the profile its own account. Log out, then open the "
                                   "link again."))
    if normalize_email(by.email) != invitation.patient.email:
        raise InvitationRefused(_l("This invitation was sent to another email address. "
                                   "Log out, then open the link again."))
    own = by.patient_profile
    if own is not None and own.birth_date == invitation.patient.birth_date:
        raise InvitationRefused(_l("You already have a Carnet profile with this birth date, so this one is probably "
                                   "yours: ask the practice to book your visits on your account instead."),
                                code="profile_probably_duplicate")
    # Claiming twice (a second click) must not add a second proxy row.
    if not can_act_for_patient(by, invitation.patient_id):
        db.session.add(PatientProxy(user_id=by.id, patient_id=invitation.patient_id))
    _mark_claimed(invitation, by, "relative", previous_email=invitation.patient.email, proxies=[], kept_ids=set())
    db.session.flush()
    return invitation.patient
