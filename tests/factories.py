"""Factory functions with sensible defaults: `make_x(**overrides)`.

They write through the ORM and commit, like a finished request would.
"""

import datetime as dt
import itertools

import pyotp
from stdnum import luhn

from webapp.accounts.models import (
    ClinicMember,
    ClinicRole,
    Clinic,
    PatientProfile,
    PatientProxy,
    PractitionerProfile,
    Role,
    User,
)
from webapp.accounts.passwords import hash_password
from webapp.extensions import db

PASSWORD = "correct-horse-42"
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once
_sequence = itertools.count(1)


def totp_now(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).now()


def valid_rpps(number: int) -> str:
    stem = f"99{number:08d}"
    return stem + luhn.calc_check_digit(stem)


def make_user(*, role: Role = Role.PATIENT, commit: bool = True, **overrides) -> User:
    n = next(_sequence)
    values = {"email": f"user{n}@example.com", "password_hash": _PASSWORD_HASH, "role": role, "locale": "fr"}
    if role.requires_totp:
        values |= {"totp_secret": pyotp.random_base32(), "totp_enabled_at": dt.datetime.now(dt.timezone.utc)}
    user = User(**(values | overrides))
    db.session.add(user)
    if commit:
        db.session.commit()
    return user


def make_patient(*, user_overrides: dict | None = None, **overrides) -> PatientProfile:
    """A patient account with its own profile; returns the profile."""
    user = make_user(role=Role.PATIENT, commit=False, **(user_overrides or {}))
    n = next(_sequence)
    values = {"first_name": "Marie", "last_name": f"Patient{n}", "birth_date": dt.date(1985, 3, 14), "email": user.email}
    profile = PatientProfile(account=user, **(values | overrides))
    db.session.add(profile)
    db.session.commit()
    return profile


def make_relative(proxy_user: User, **overrides) -> PatientProfile:
    values = {"first_name": "Jules", "last_name": "Relative", "birth_date": dt.date(2015, 6, 1)}
    profile = PatientProfile(**(values | overrides))
    db.session.add_all([profile, PatientProxy(user=proxy_user, patient=profile)])
    db.session.commit()
    return profile


def make_desk_patient(**overrides) -> PatientProfile:
    """A patient profile created at the desk, with no account yet."""
    n = next(_sequence)
    values = {"first_name": "Paul", "last_name": f"Desk{n}", "birth_date": dt.date(1970, 1, 1)}
    profile = PatientProfile(**(values | overrides))
    db.session.add(profile)
    db.session.commit()
    return profile


def make_clinic(**overrides) -> Clinic:
    values = {"name": "Centre médical", "address": "1 rue de Paris", "postcode": "75001", "city": "Paris"}
    clinic = Clinic(**(values | overrides))
    db.session.add(clinic)
    db.session.commit()
    return clinic


def make_practitioner(*, user_overrides: dict | None = None, **overrides) -> PractitionerProfile:
    """A practitioner account (TOTP enrolled) with its profile; returns the profile."""
    user = make_user(role=Role.PRACTITIONER, commit=False, **(user_overrides or {}))
    n = next(_sequence)
    values = {
        "first_name": "Claire", "last_name": f"Praticien{n}", "rpps": valid_rpps(n),
        "specialty": "general_practitioner", "address": "12 rue de la Roquette", "postcode": "75011", "city": "Paris",
    }
    profile = PractitionerProfile(user=user, **(values | overrides))
    db.session.add(profile)
    if profile.clinic is not None:
        db.session.add(ClinicMember(clinic=profile.clinic, user=user, clinic_role=ClinicRole.PRACTITIONER))
    db.session.commit()
    return profile


def make_staff(*, clinic: Clinic | None = None, role: Role = Role.STAFF,
               clinic_role: ClinicRole = ClinicRole.SECRETARY, **overrides) -> User:
    """A staff account; with a clinic, a member in `clinic_role` (a secretary by default)."""
    user = make_user(role=role, commit=False, **overrides)
    if clinic is not None:
        db.session.add(ClinicMember(clinic=clinic, user=user, clinic_role=clinic_role))
    db.session.commit()
    return user
