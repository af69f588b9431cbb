"""Factory functions with sensible defaults: `make_x(**overrides)`.

They write through the ORM and commit, like a finished request would.
"""

import datetime as dt
import importlib
import itertools

import pyotp
import sqlalchemy as sa
from stdnum import luhn

from webapp.accounts import totp
from webapp.accounts.models import (
    Clinic,
    ClinicMember,
    ClinicRole,
    PatientProfile,
    PatientProxy,
    PractitionerProfile,
    Role,
    User,
    Verification,
    VerificationMethod,
)
from webapp.accounts.passwords import hash_password
from webapp.db import now_utc
from webapp.extensions import db

PASSWORD = "correct-horse-42"
_sequence = itertools.count(1)


# `webapp.db` the module (the name `db` is the SQLAlchemy extension): its `clock`
# is the app's one clock, read by `now_utc()`.
_DB_MODULE = importlib.import_module("webapp.db")


class _AheadOfWallClock:
    """The wall clock moved `offset` ahead: what `totp_code` installs as the
    app's clock when the test has not frozen it."""

    def __init__(self):
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return _DB_MODULE.system_time() + self.offset

    def advance(self, **delta) -> None:
        self.offset += dt.timedelta(**delta)


# The last step `totp_code` handed out, per secret (forgotten after each test).
_steps_given: dict[str, int] = {}


def totp_code(secret: str) -> str:
    """A code of `secret` that no login or action has used yet.

    A code opens one action (`webapp.accounts.totp.accept_code`): only a
    later step than the account's last one is accepted, within one step
    either side of the app's clock (`now_utc()`). So each call returns the
    code of the next step nobody used: first those the check accepts at this
    moment (from the step before on a frozen clock; from the current one on
    the wall clock, which may tick meanwhile). Only once they are used up is
    the app's clock moved ahead, by as few steps as needed: a test with a
    frozen clock keeps its moment for its first codes. An unfrozen clock
    goes back to the wall clock after each test (`reset_totp_clock`)."""
    clock = _DB_MODULE.clock
    frozen = hasattr(clock, "advance") and not isinstance(clock, _AheadOfWallClock)  # the `frozen_clock` fixture
    current = int(now_utc().timestamp()) // totp.STEP_SECONDS
    used = db.session.scalar(sa.select(sa.func.max(User.totp_last_step)).where(User.totp_secret == secret))
    step = max(current - 1 if frozen else current, _steps_given.get(secret, -1) + 1,
               (used if used is not None else -1) + 1)
    if step > current + 1:  # beyond what the check accepts now: move the clock
        if not hasattr(clock, "advance"):  # the wall clock itself cannot be moved
            clock = _DB_MODULE.clock = _AheadOfWallClock()
        clock.advance(seconds=(step - current - 1) * totp.STEP_SECONDS)
    _steps_given[secret] = step
    return pyotp.TOTP(secret, interval=totp.STEP_SECONDS).generate_otp(step)


def totp_now(user: User) -> str:
    """A fresh TOTP code of the user's secret (see `totp_code`)."""
    return totp_code(user.totp_secret)


def reset_totp_clock() -> None:
    _steps_given.clear()
    if isinstance(_DB_MODULE.clock, _AheadOfWallClock):
        _DB_MODULE.clock = _DB_MODULE.system_time


def valid_rpps(number: int) -> str:
    stem = f"99{number:08d}"
    return stem + luhn.calc_check_digit(stem)


def make_user(*, role: Role = Role.PATIENT, commit: bool = True, **overrides) -> User:
    n = next(_sequence)
    values = {"email": f"user{n}@example.com", "password_hash": hash_password(PASSWORD), "role": role, "locale": "fr"}
    if role.requires_totp:
        values |= {"totp_secret": pyotp.random_base32(), "totp_enabled_at": now_utc()}
    user = User(**(values | overrides))
    db.session.add(user)
    if commit:
        db.session.commit()
    return user


def make_patient(*, user_overrides: dict | None = None, **overrides) -> PatientProfile:
    """A patient account with its own profile; returns the profile."""
    user = make_user(role=Role.PATIENT, commit=False, **(user_overrides or {}))
    n = next(_sequence)
    values = {"first_name": "Marie", "last_name": f"Patient{n}", "birth_date": dt.date(1985, 3, 14),
              "email": user.email}
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


def make_practitioner(*, user_overrides: dict | None = None, verification: str = "verified",
                      **overrides) -> PractitionerProfile:
    """A practitioner account (TOTP enrolled) with its profile; returns the profile.

    Verified by default (checked documents), like every practitioner already
    at work; `verification="pending"` (or "rejected") for a fresh sign-up."""
    user = make_user(role=Role.PRACTITIONER, commit=False, **(user_overrides or {}))
    n = next(_sequence)
    values = {
        "first_name": "Claire", "last_name": f"Praticien{n}", "rpps": valid_rpps(n),
        "specialty": "general_practitioner", "address": "12 rue de la Roquette", "postcode": "75011", "city": "Paris",
        "verification": Verification(verification),
    }
    if values["verification"] is Verification.VERIFIED:
        values |= {"verified_at": dt.datetime.now(dt.UTC), "verification_method": VerificationMethod.DOCUMENT}
    elif values["verification"] is Verification.REJECTED:
        values |= {"rejected_at": dt.datetime.now(dt.UTC), "rejection_reason": "Pas d'inscription à l'Ordre."}
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
