"""Patient profiles as their accounts edit them: names, birth date, phone.

Rules:
- a profile is edited by its own account; a profile without an account of
  its own (a child, a dependant) by the accounts acting for it; a proxy of
  a profile that has its own account reads it but does not edit it
  (`ProfileOwnedByItsAccount`); anyone else gets `NotFound`;
- names and birth date follow `identity_rules`; once the identity is
  checked (an INS recovered, validated or qualified: the national identity
  rules, RNIV) they are the traits the INS was checked against, so the
  patient side no longer changes them (`IdentityLocked`): a professional
  corrects them after checking an identity document; while the INS is
  provisional, a new birth date must still agree with its number;
- the phone is optional, checked and stored in E.164 (`phones`);
- each change is audited with the names of the fields only.
Services flush but never commit; the caller wraps them in `transaction()`.
"""

import dataclasses
import datetime as dt

from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.accounts import phones
from webapp.accounts.errors import InvalidAccountData
from webapp.accounts.identity_rules import identity_problems
from webapp.accounts.models import PatientProfile, User
from webapp.accounts.relatives import can_act_for_patient
from webapp.audit.services import record_event
from webapp.db import MAX_ID
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db

# Where a feature that keeps identities (the shared-record connector, webapp/dmp)
# puts a lookup `patient_id -> status code or None`, and one
# `(patient_id, birth_date, sex) -> names of the fields the recorded INS disagrees with`:
# accounts imports no feature above it.
IDENTITY_STATUS_EXTENSION = "accounts.identity_status"
IDENTITY_TRAITS_EXTENSION = "accounts.identity_trait_mismatches"
# The RNIV statuses whose traits were checked (by INSi, an ID document or both).
CHECKED_IDENTITY_STATUSES = frozenset({"recovered", "validated", "qualified"})
IDENTITY_FIELDS = ("first_name", "last_name", "birth_date")


class ProfileOwnedByItsAccount(Forbidden):
    code = "profile_has_own_account"
    default_message = _l("This person has their own account: only they can change their profile.")


class IdentityLocked(Forbidden):
    code = "identity_locked"
    default_message = _l("This identity was checked against the national identity service or an identity "
                         "document: names and birth date can only be corrected by a professional, who checks "
                         "an identity document.")


@dataclasses.dataclass(frozen=True)
class EditableProfile:
    """A profile the user may edit, and what of it."""

    profile: PatientProfile
    identity_status: str | None

    @property
    def identity_locked(self) -> bool:
        return self.identity_status in CHECKED_IDENTITY_STATUSES


def identity_status(patient_id: int) -> str | None:
    """The RNIV status of the profile's INS, if a feature keeps one."""
    lookup = current_app.extensions.get(IDENTITY_STATUS_EXTENSION)
    return lookup(patient_id) if lookup is not None else None


def _trait_mismatches(profile: PatientProfile, birth_date: dt.date) -> list[str]:
    check = current_app.extensions.get(IDENTITY_TRAITS_EXTENSION)
    sex = profile.sex.value if profile.sex else None
    return check(profile.id, birth_date, sex) if check is not None else []


def editable_profile(user: User, patient_id: int) -> EditableProfile:
    """The profile if `user` may edit it (see the module's rules)."""
    if not getattr(user, "is_authenticated", False) or not isinstance(patient_id, int) \
            or not 0 < patient_id <= MAX_ID or not can_act_for_patient(user, patient_id):
        raise NotFound()
    profile = db.session.get(PatientProfile, patient_id)
    if profile.account_id is not None and profile.account_id != user.id:
        raise ProfileOwnedByItsAccount()
    return EditableProfile(profile, identity_status(profile.id))


def update_profile(user: User, patient_id: int, *, first_name: str, last_name: str, birth_date: dt.date,
                   phone: str | None) -> PatientProfile:
    """Change a profile's names, birth date and phone (see the module's rules).

    Identity fields given unchanged are accepted on a checked identity, so
    one form saves the phone whatever the identity's status."""
    editable = editable_profile(user, patient_id)
    profile = editable.profile
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    wanted = {"first_name": first_name, "last_name": last_name, "birth_date": birth_date}
    changed_identity = [name for name in IDENTITY_FIELDS if wanted[name] != getattr(profile, name)]
    if changed_identity and editable.identity_locked:
        raise IdentityLocked(fields={name: [str(IdentityLocked.default_message)] for name in changed_identity})
    errors = identity_problems(first_name=first_name, last_name=last_name, birth_date=birth_date,
                               check=changed_identity)
    if "birth_date" in changed_identity and "birth_date" not in errors \
            and "birth_date" in _trait_mismatches(profile, birth_date):
        errors["birth_date"] = [str(_l("This birth date disagrees with the INS recorded on this profile (the year "
                                       "and month of birth written in the number): check the date."))]
    phone = (phone or "").strip() or None
    if phone is not None and (problem := phones.phone_problem(phone)):
        errors["phone"] = [problem]
    if errors:
        raise InvalidAccountData(fields=errors)
    wanted["phone"] = phones.normalised_phone(phone) if phone else None
    changed = [name for name in (*IDENTITY_FIELDS, "phone") if wanted[name] != getattr(profile, name)]
    for name in changed:
        setattr(profile, name, wanted[name])
    if changed:
        db.session.flush()
        record_event("patient_profile.updated", actor=user, target_type="patient_profile", target_id=profile.id,
                     details={"fields": "+".join(changed)})
    return profile
