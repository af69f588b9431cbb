"""Account rules of the Pro Santé Connect login.

The RPPS number that Pro Santé Connect vouches for (e-CPS, itself a
two-factor login) finds the practitioner account:

- an account already linked to Pro Santé Connect logs in at once: no TOTP
  step, the e-CPS is the strong factor;
- an account with that RPPS that was never linked was made by whoever typed
  the number at sign-up, and the RPPS directory is public: its password must
  be given once to link it, so that an e-CPS login never hands a verified
  account to someone who squatted the number (nor theirs to the doctor);
- no account: the person completes a new practitioner account, prefilled
  from the identity.
Linking or creating verifies the practitioner (method `pro_sante_connect`).
An account that is closed or is not a practitioner's is refused.

Services flush but never commit; the caller wraps them in `transaction()`.
"""

import secrets

import sqlalchemy as sa

from webapp.accounts import authentication, registration
from webapp.accounts.models import PractitionerProfile, Role, User, VerificationMethod
from webapp.accounts.pro_sante_connect.client import ProviderIdentity
from webapp.accounts.pro_sante_connect.errors import AccountCannotLogIn
from webapp.accounts.verification import verify_practitioner
from webapp.audit.services import record_event
from webapp.db import now_utc
from webapp.extensions import db

METHOD = "pro_sante_connect"


def record_refusal(reason: str, user_id: int | None = None) -> None:
    """Audit a refused login (reason code only; the account when known)."""
    record_event("login.failure", target_type="user" if user_id else None, target_id=user_id,
                 details={"method": METHOD, "reason": reason})


def _record_login(user: User) -> None:
    """Reset the failure count and lock-out (a stronger proof than the
    password that they guard) and audit the login."""
    user.failed_login_count = 0
    user.locked_until = None
    record_event("login.success", actor=user, target_type="user", target_id=user.id,
                 details={"method": METHOD, "factors": "e_cps"})


def _link(profile: PractitionerProfile) -> None:
    profile.pro_sante_connect_linked_at = now_utc()
    record_event("pro_sante_connect.linked", actor=profile.user, target_type="practitioner_profile",
                 target_id=profile.id)
    verify_practitioner(profile, method=VerificationMethod.PRO_SANTE_CONNECT, by=None)


def find_account(identity: ProviderIdentity) -> PractitionerProfile | None:
    """The practitioner profile holding the RPPS, if any; a closed account or
    one that is not a practitioner's cannot use it."""
    profile = db.session.scalar(sa.select(PractitionerProfile).where(PractitionerProfile.rpps == identity.rpps))
    if profile is None:
        return None
    user = profile.user
    if user.role is not Role.PRACTITIONER:
        raise AccountCannotLogIn("psc_not_practitioner", user_id=user.id)
    if not user.is_active:
        raise AccountCannotLogIn("psc_inactive_account", user_id=user.id)
    return profile


def log_in_linked(profile: PractitionerProfile) -> User:
    """Log in through an account already linked to Pro Santé Connect."""
    _record_login(profile.user)
    return profile.user


def link_existing_account(identity: ProviderIdentity, password: str) -> User:
    """Link the account of this RPPS once its password is given, verify it
    and log in. A wrong password counts towards the account's lock-out."""
    profile = find_account(identity)
    if profile is None or profile.pro_sante_connect_linked_at is not None:
        raise AccountCannotLogIn("psc_link_state")  # it changed since the callback: start again
    user = profile.user
    authentication.confirm_identity(user, password, purpose="pro_sante_connect_link", with_totp=False)
    _link(profile)
    _record_login(user)
    return user


def create_account(identity: ProviderIdentity, *, email: str, password: str | None, specialty: str,
                   address: str, postcode: str, city: str, locale: str | None = None) -> User:
    """A new practitioner account for the RPPS and names of the identity (not
    editable), with the sign-up rules; linked and verified at once.

    Without a password the account gets a random one that nobody knows: it
    logs in through Pro Santé Connect, and "forgot password" sets a real one.
    As at sign-up, a TOTP secret is set for the password logins to come."""
    user = registration.register_practitioner(
        email=email, password=password or _unknowable_password(), first_name=identity.first_name,
        last_name=identity.last_name, rpps=identity.rpps, specialty=specialty, address=address,
        postcode=postcode, city=city, locale=locale,
    )
    _link(user.practitioner_profile)
    _record_login(user)
    return user


def _unknowable_password() -> str:
    # 43 random characters; the suffix keeps it clear of the strength rules' "letters only".
    return secrets.token_urlsafe(32) + "-1"
