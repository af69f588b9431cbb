"""Verification of practitioners: who counts as a verified professional, and the back office's decisions.

A practitioner signs up `pending`: the RPPS check digit proves nothing about
who typed it. Until verified (by the back office, from documents or the
public RPPS directory, or by a Pro Santé Connect login), they may set up
their hours, visit reasons, absences and subscription, and nothing else:
they are not listed nor bookable, and have no desk and no notebook.
`require_verified` is the one home of that rule; the services of the other
features call it. A rejected practitioner is treated as a pending one.

Services flush but never commit; the caller wraps them in `transaction()`.
"""

import dataclasses

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.accounts.directory import DirectoryComparison, compare_with_directory, entries_by_rpps
from webapp.accounts.errors import DirectoryMismatch, InvalidAccountData, PractitionerNotVerified
from webapp.accounts.models import PractitionerProfile, Role, User, Verification, VerificationMethod
from webapp.audit.services import record_event
from webapp.db import now_utc
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db
from webapp.notifications import messages
from webapp.urls import external_url

__all__ = [
    "PractitionerNotVerified", "is_unverified_practitioner", "reject_practitioner", "require_verified",
    "verify_practitioner",
]

NOTE_MAX = 500
REASON_MAX = 1000
BACK_OFFICE_ROLE = Role.ADMIN


def _profile_of(user_or_profile: User | PractitionerProfile | None) -> PractitionerProfile | None:
    if isinstance(user_or_profile, PractitionerProfile):
        return user_or_profile
    if isinstance(user_or_profile, User) and user_or_profile.role is Role.PRACTITIONER:
        return user_or_profile.practitioner_profile
    return None


def require_verified(user_or_profile: User | PractitionerProfile) -> None:
    """Refuse (403 `practitioner_not_verified`) a practitioner who is not
    verified, given as their profile or their account. Any other account
    (patient, staff, admin) passes: this rule is only about practitioners."""
    profile = _profile_of(user_or_profile)
    if isinstance(user_or_profile, User) and user_or_profile.role is Role.PRACTITIONER and profile is None:
        raise PractitionerNotVerified()
    if profile is not None and not profile.is_verified:
        rejected = profile.verification is Verification.REJECTED
        raise PractitionerNotVerified(PractitionerNotVerified.rejected_message if rejected else None)


def is_unverified_practitioner(user) -> bool:
    """For pages: a logged-in practitioner whose account is not verified (banner, menu)."""
    if not getattr(user, "is_authenticated", False) or user.role is not Role.PRACTITIONER:
        return False
    profile = user.practitioner_profile
    return profile is None or not profile.is_verified


def _require_back_office(by: User | None) -> None:
    if by is None or by.role is not BACK_OFFICE_ROLE:
        raise Forbidden()


def _clean_text(text: str | None, *, field: str, maximum: int, required: bool) -> str:
    text = (text or "").strip()
    if required and not text:
        raise InvalidAccountData(fields={field: [str(_l("This field is required."))]})
    if len(text) > maximum:
        raise InvalidAccountData(fields={field: [str(_l("At most %(count)d characters.", count=maximum))]})
    return text


def verify_practitioner(profile: PractitionerProfile, *, method: VerificationMethod, by: User | None,
                        note: str = "") -> PractitionerProfile:
    """Mark a practitioner verified: listed and bookable from now on.

    The back office (role admin) decides with `document` or `directory`;
    `directory` needs the RPPS number, last and first names to match an
    active entry of the imported directory (409 `directory_mismatch`).
    `pro_sante_connect` is the login itself (`by` None): the identity
    provider vouched for the RPPS number. A rejected practitioner may be
    verified later; verifying a verified one changes nothing. Audited,
    and the practitioner is told by mail."""
    method = VerificationMethod(method)
    if method is not VerificationMethod.PRO_SANTE_CONNECT:
        _require_back_office(by)
    note = _clean_text(note, field="note", maximum=NOTE_MAX, required=False)
    if profile.is_verified:
        return profile
    if method is VerificationMethod.DIRECTORY and not compare_with_directory(profile).matches_identity:
        raise DirectoryMismatch()
    previous = profile.verification or Verification.PENDING
    now = now_utc()
    profile.verification = Verification.VERIFIED
    profile.verified_at = now
    profile.verification_method = method
    profile.verification_note = note or None
    profile.rejected_at = profile.rejection_reason = None
    db.session.flush()
    record_event("practitioner.verified", actor=by, target_type="practitioner_profile", target_id=profile.id,
                 details={"method": method.value, "previous": previous.value, "user_id": profile.user_id})
    user = profile.user
    messages.notify_practitioner_verified(
        key=f"practitioner-verified:{profile.id}:{now.isoformat()}", to=user.email, locale=user.locale,
        method=method.value, account_url=external_url("accounts.account"), user_id=user.id,
    )
    return profile


def reject_practitioner(profile: PractitionerProfile, *, by: User, reason: str) -> PractitionerProfile:
    """The back office (role admin) refuses to verify a practitioner, or
    withdraws a verification (a struck-off practitioner): they are treated as
    pending again, and told the reason by mail. The reason is required; it is
    kept on the profile and shown to the practitioner, never written in the
    audit trail. Rejecting a rejected practitioner changes nothing."""
    _require_back_office(by)
    reason = _clean_text(reason, field="reason", maximum=REASON_MAX, required=True)
    if profile.verification is Verification.REJECTED:
        return profile
    previous = profile.verification or Verification.PENDING
    now = now_utc()
    profile.verification = Verification.REJECTED
    profile.rejected_at = now
    profile.rejection_reason = reason
    profile.verified_at = profile.verification_method = profile.verification_note = None
    db.session.flush()
    record_event("practitioner.rejected", actor=by, target_type="practitioner_profile", target_id=profile.id,
                 details={"previous": previous.value, "user_id": profile.user_id})
    user = profile.user
    messages.notify_practitioner_rejected(
        key=f"practitioner-rejected:{profile.id}:{now.isoformat()}", to=user.email, locale=user.locale,
        reason=reason, account_url=external_url("accounts.account"), user_id=user.id,
    )
    return profile


def practitioners_to_review(by: User, verification: Verification | None = Verification.PENDING) -> sa.Select:
    """The back office's list (role admin): practitioners in this state (all
    if None), oldest sign-up first, as a SELECT to page."""
    _require_back_office(by)
    statement = sa.select(PractitionerProfile)
    if verification is not None:
        statement = statement.where(PractitionerProfile.verification == Verification(verification))
    return statement.order_by(PractitionerProfile.created_at, PractitionerProfile.id)


def practitioner_for_review(by: User, practitioner_id: int) -> PractitionerProfile:
    """One practitioner for the back office (role admin); 404 if there is none."""
    _require_back_office(by)
    profile = db.session.get(PractitionerProfile, practitioner_id)
    if profile is None:
        raise NotFound(_l("No such practitioner."))
    return profile


@dataclasses.dataclass(frozen=True)
class PractitionerReview:
    """A practitioner with what the public directory says about them."""

    profile: PractitionerProfile
    directory: DirectoryComparison


def reviews_of(profiles: list[PractitionerProfile]) -> list[PractitionerReview]:
    """Each practitioner with their directory comparison, in one query for the page."""
    entries = entries_by_rpps(profile.rpps for profile in profiles)
    return [PractitionerReview(profile, compare_with_directory(profile, entries[profile.rpps]))
            for profile in profiles]
