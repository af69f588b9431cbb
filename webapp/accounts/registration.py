"""Sign-up: patient, practitioner and staff accounts, with the rules on email, RPPS and identity.

Services flush but never commit; the caller wraps them in `transaction()`.
"""

import sqlalchemy as sa
from blinker import signal
from flask import current_app
from flask_babel import lazy_gettext as _l
from stdnum import luhn

from webapp.accounts import passwords, totp
from webapp.accounts.errors import (
    EmailTaken,
    InvalidAccountData,
)
from webapp.accounts.identity_rules import identity_problems
from webapp.accounts.models import (
    ClinicMember,
    PatientProfile,
    PractitionerProfile,
    Role,
    Sex,
    User,
)
from webapp.accounts.phones import normalised_phone, phone_problem
from webapp.accounts.specialties import SPECIALTIES
from webapp.audit.services import record_event
from webapp.extensions import db

# Sent after a practitioner account is created, so that features above
# accounts (billing starts a trial) react without accounts knowing them.
practitioner_registered = signal("practitioner-registered")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def rpps_problem(rpps: str) -> str | None:
    if len(rpps) != 11 or not (rpps.isascii() and rpps.isdigit()):
        return str(_l("An RPPS number has exactly 11 digits."))
    if not luhn.is_valid(rpps):
        return str(_l("This RPPS number is not valid (its check digit does not match)."))
    return None


def _new_user(email: str, password: str, role: Role, locale: str | None) -> User:
    problems = passwords.password_problems(password)
    if problems:
        raise InvalidAccountData(fields={"password": problems})
    email = normalize_email(email)
    if find_user_by_email(email) is not None:
        raise EmailTaken(fields={"email": [str(EmailTaken.default_message)]})
    user = User(email=email, password_hash=passwords.hash_password(password), role=role, locale=locale)
    db.session.add(user)
    return user


def _record_account_created(user: User, *, by: User | None) -> None:
    record_event("account.created", actor=by, target_type="user", target_id=user.id,
                 details={"role": str(user.role)})


def patient_signup_problems(*, email, password, first_name, last_name, birth_date, phone=None) -> dict:
    """Every reason a patient sign-up would be refused, at once (field name →
    messages): identity, password strength, phone, an email already used."""
    problems = identity_problems(first_name=first_name, last_name=last_name, birth_date=birth_date)
    if weak := passwords.password_problems(password or ""):
        problems["password"] = weak
    if phone is not None and (problem := phone_problem(phone)):
        problems["phone"] = [problem]
    if email and find_user_by_email(email) is not None:
        problems["email"] = [str(EmailTaken.default_message)]
    return problems


def register_patient(*, email, password, first_name, last_name, birth_date, locale=None, sex=None,
                     phone=None) -> User:
    """Create a patient account with its own patient profile (names and birth
    date follow `identity_rules`; a `phone`, if given, is stored in its
    international form)."""
    if problems := identity_problems(first_name=first_name, last_name=last_name, birth_date=birth_date):
        raise InvalidAccountData(fields=problems)
    if phone is not None and (problem := phone_problem(phone)):
        raise InvalidAccountData(fields={"phone": [problem]})
    user = _new_user(email, password, Role.PATIENT, locale)
    db.session.add(PatientProfile(
        account=user, first_name=first_name.strip(), last_name=last_name.strip(),
        birth_date=birth_date, email=user.email, sex=Sex(sex) if sex else None,
        phone=normalised_phone(phone) if phone is not None else None,
    ))
    db.session.flush()
    _record_account_created(user, by=user)
    return user


def create_patient_account(*, email, password, locale=None) -> User:
    """A patient account for a profile that already exists (created at the
    desk, then claimed): the same email and password rules as sign-up; the
    caller attaches the profile."""
    user = _new_user(email, password, Role.PATIENT, locale)
    db.session.flush()
    _record_account_created(user, by=user)
    return user


def register_practitioner(
    *, email, password, first_name, last_name, rpps, specialty, address, postcode, city,
    locale=None, totp_secret=None,
) -> User:
    """Create a practitioner account; TOTP is mandatory, so a secret is set
    at once and must be confirmed (web) or used (API) from the first login."""
    errors = {}
    if problems := passwords.password_problems(password):
        errors["password"] = problems  # field errors come before conflicts (a taken RPPS)
    if problem := rpps_problem(rpps):
        errors["rpps"] = [problem]
    if specialty not in SPECIALTIES:
        errors["specialty"] = [str(_l("Unknown specialty."))]
    errors |= identity_problems(first_name=first_name, last_name=last_name, check=("first_name", "last_name"))
    if errors:
        raise InvalidAccountData(fields=errors)
    if db.session.scalar(sa.select(PractitionerProfile.id).where(PractitionerProfile.rpps == rpps)):
        raise EmailTaken(
            _l("A practitioner with this RPPS number is already registered."), code="rpps_taken",
            fields={"rpps": [str(_l("A practitioner with this RPPS number is already registered."))]},
        )
    user = _new_user(email, password, Role.PRACTITIONER, locale)
    user.totp_secret = totp_secret or totp.new_totp_secret()
    db.session.add(PractitionerProfile(
        user=user, first_name=first_name.strip(), last_name=last_name.strip(), rpps=rpps,
        specialty=specialty, address=address.strip(), postcode=postcode.strip(), city=city.strip(),
    ))
    db.session.flush()
    _record_account_created(user, by=user)
    practitioner_registered.send(current_app._get_current_object(), practitioner=user.practitioner_profile)
    return user


def create_staff(*, email, password, clinic=None, clinic_role=None, role=Role.STAFF, locale=None, by=None) -> User:
    """A staff or admin account (TOTP mandatory); `by` is the admin creating it, if any."""
    user = _new_user(email, password, role, locale)
    user.totp_secret = totp.new_totp_secret()
    if clinic is not None:
        db.session.add(ClinicMember(clinic=clinic, user=user, clinic_role=clinic_role))
    db.session.flush()
    _record_account_created(user, by=by)
    return user
