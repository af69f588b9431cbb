"""Stand-in for the verification interface built on the "verification of
practitioners" branch, so that this branch runs on its own. Dropped at merge:
the real module sets the profile verified, audits and mails."""

from webapp.accounts.models import PractitionerProfile, User, VerificationMethod


def verify_practitioner(profile: PractitionerProfile, *, method: VerificationMethod, by: User | None,
                        note: str = "") -> PractitionerProfile:
    """Stand-in: records nothing."""
    return profile
