"""Account rules: sign-up, authentication, two-factor, tokens, relatives.

Services flush but never commit; the caller wraps them in `transaction()`.
"""

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from blinker import signal
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy.orm import joinedload
from stdnum import luhn

from webapp.accounts import passwords, session_records, totp
from webapp.accounts.errors import (
    AccountLocked,
    EmailTaken,
    InvalidAccountData,
    InvalidCredentials,
    InvalidToken,
    TotpRequired,
    WrongPassword,
)
from webapp.accounts.identity_rules import identity_problems
from webapp.accounts.models import (
    ApiToken,
    ClinicMember,
    ClinicRole,
    PatientProfile,
    PatientProxy,
    PractitionerProfile,
    Role,
    Sex,
    User,
)
from webapp.accounts.phones import normalised_phone, phone_problem
from webapp.accounts.specialties import SPECIALTIES
from webapp.audit.services import record_event
from webapp.db import now_utc
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.notifications import messages
from webapp.signing import link_serializer
from webapp.urls import external_url

API_TOKEN_LAST_USE_PRECISION = dt.timedelta(minutes=1)

# Sent after a practitioner account is created, so that features above
# accounts (billing starts a trial) react without accounts knowing them.
practitioner_registered = signal("practitioner-registered")
# Sent when a password change or the closure of the account ends every way in
# (sessions, API tokens), so that features above accounts revoke their own
# secrets too (booking: the calendar feed URL). Arguments: `user`, `reason`.
access_revoked = signal("account-access-revoked")


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


def _record_failed_login(user: User, *, action: str = "login.failure", reason: str) -> None:
    """Count a failure (login or re-authentication) and lock the account at the limit."""
    user.failed_login_count += 1
    record_event(action, target_type="user", target_id=user.id, details={"reason": reason})
    if user.failed_login_count >= current_app.config["CARNET_LOGIN_LOCKOUT_ATTEMPTS"]:
        minutes = current_app.config["CARNET_LOGIN_LOCKOUT_MINUTES"]
        user.locked_until = now_utc() + dt.timedelta(minutes=minutes)
        user.failed_login_count = 0
        record_event("login.locked", target_type="user", target_id=user.id, details={"minutes": minutes})


def _refuse_if_locked(user: User) -> None:
    if user.locked_until and user.locked_until > now_utc():
        record_event("login.refused_locked", target_type="user", target_id=user.id)
        raise AccountLocked()


def check_password_login(email: str, password: str) -> User:
    """First factor. A locked account is refused even with the right password;
    failures count towards the lock-out (the caller must commit them).
    Every refusal is audited; an unknown email is never written down."""
    user = find_user_by_email(email)
    if user is not None:
        _refuse_if_locked(user)
    if user is None:
        passwords.verify_password(None, password)  # same time as a known account
        record_event("login.failure", details={"reason": "unknown_account"})
        raise InvalidCredentials()
    if not passwords.verify_password(user.password_hash, password):
        _record_failed_login(user, reason="bad_password")
        raise InvalidCredentials()
    if not user.is_active:
        _record_failed_login(user, reason="inactive_account")
        raise InvalidCredentials()
    return user


def check_second_factor(user: User, code: str | None) -> None:
    """Second factor for the roles that require it; a wrong code, or one that
    already opened a login or an action, counts as a failure, and an account
    locked meanwhile is refused even with a right code."""
    if not user.role.requires_totp:
        return
    _refuse_if_locked(user)
    if not totp.accept_code(user, code):
        if code:
            _record_failed_login(user, reason="bad_totp")
        raise TotpRequired()


def record_successful_login(user: User) -> None:
    """Reset the failure count and audit the login (with the factors used)."""
    user.failed_login_count = 0
    user.locked_until = None
    if user.role.requires_totp and user.totp_enabled_at is None:
        user.totp_enabled_at = now_utc()
        record_event("totp.enrolled", actor=user, target_type="user", target_id=user.id)
    factors = "password_totp" if user.role.requires_totp else "password"
    record_event("login.success", actor=user, target_type="user", target_id=user.id, details={"factors": factors})


def enable_totp(user: User, secret: str, code: str) -> None:
    """First enrolment: the code proves the authenticator app holds the secret."""
    if not totp.accept_code(user, code, secret=secret):
        raise InvalidAccountData(fields={"code": [str(TotpRequired.default_message)]})
    user.totp_secret = secret
    user.totp_enabled_at = now_utc()
    record_event("totp.enrolled", actor=user, target_type="user", target_id=user.id)


def confirm_identity(user: User, password: str, code: str | None = None, *, purpose: str = "reauth",
                     with_totp: bool = True) -> None:
    """Re-authentication of a logged-in user before a sensitive action:
    the password, plus a TOTP code for the roles that use one. Failures count
    towards the lock-out like login failures, so a stolen session cannot
    guess the password; a locked account is refused."""
    _refuse_if_locked(user)
    if not passwords.verify_password(user.password_hash, password):
        _record_failed_login(user, action="reauth.failure", reason="bad_password")
        raise WrongPassword(fields={"password": [str(WrongPassword.default_message)]})
    if with_totp and user.role.requires_totp and not totp.accept_code(user, code):
        _record_failed_login(user, action="reauth.failure", reason="bad_totp")
        raise TotpRequired(fields={"code": [str(TotpRequired.default_message)]})
    user.failed_login_count = 0
    record_event("reauth.success", actor=user, target_type="user", target_id=user.id, details={"purpose": purpose})


def confirm_totp_code(user: User, code: str | None, *, purpose: str, field: str = "totp", now=None) -> None:
    """Re-authentication by a fresh TOTP code alone, for an action taken
    with a bearer token or a session already open (emergency access to a
    notebook): a code that already opened a login or an action is refused
    like a wrong one, and failures count towards the lock-out as for
    `confirm_identity`. `field` names the input in the error; `now` (aware)
    replaces the clock."""
    _refuse_if_locked(user)
    if not user.role.requires_totp or not totp.accept_code(user, code, now=now):
        _record_failed_login(user, action="reauth.failure", reason="bad_totp")
        raise TotpRequired(fields={field: [str(TotpRequired.default_message)]})
    user.failed_login_count = 0
    record_event("reauth.success", actor=user, target_type="user", target_id=user.id, details={"purpose": purpose})


def reset_totp(user: User, secret: str, code: str) -> None:
    """Move two-factor authentication to a new authenticator app (after a
    re-authentication): the new secret replaces the old once a code from it
    is shown. Only the roles that use TOTP have it."""
    if not user.role.requires_totp:
        raise NotFound()
    if not totp.is_well_formed_secret(secret) or not totp.accept_code(user, code, secret=secret):
        raise InvalidAccountData(fields={"code": [str(TotpRequired.default_message)]})
    user.totp_secret = secret
    user.totp_enabled_at = now_utc()
    record_event("totp.reset", actor=user, target_type="user", target_id=user.id)


def _token_digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


def issue_api_token(user: User) -> tuple[str, ApiToken]:
    """A new bearer token; only its digest is stored, the raw value is shown once."""
    raw = secrets.token_urlsafe(32)
    hours = current_app.config["CARNET_API_TOKEN_HOURS"]
    token = ApiToken(user=user, token_hash=_token_digest(raw), expires_at=now_utc() + dt.timedelta(hours=hours))
    db.session.add(token)
    db.session.flush()
    record_event("token.created", actor=user, target_type="api_token", target_id=token.id,
                 details={"expires_hours": hours})
    return raw, token


def _token_refusal(token: ApiToken | None, now: dt.datetime) -> str | None:
    if token is None:
        return "unknown"
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= now:
        return "expired"
    if not token.user.is_active:
        return "inactive_account"
    return None


def authenticate_api_token(raw_token: str) -> ApiToken:
    """The live token for a raw bearer value. A known token that is revoked,
    expired or whose account is closed is refused and audited (the caller
    commits); unknown values are refused without a trace. Its last use is
    updated when the recorded one is a minute old or more."""
    token = db.session.scalar(sa.select(ApiToken).options(joinedload(ApiToken.user))
                              .where(ApiToken.token_hash == _token_digest(raw_token)))
    now = now_utc()
    if refusal := _token_refusal(token, now):
        if token is not None:
            record_event("token.refused", target_type="api_token", target_id=token.id, details={"reason": refusal})
        raise InvalidToken()
    # Recorded to the minute: a client making many calls does not write once per call.
    if token.last_used_at is None or now - token.last_used_at >= API_TOKEN_LAST_USE_PRECISION:
        token.last_used_at = now
    return token


def active_api_tokens(user: User) -> sa.Select:
    """The account's tokens that still work, newest first (a statement to page)."""
    return (
        sa.select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now_utc())
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )


def revoke_api_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = now_utc()
        record_event("token.revoked", actor=token.user, target_type="api_token", target_id=token.id)


def revoke_api_token_of(user: User, token_id: int) -> None:
    """Revoke one of the account's own live tokens (a lost phone); any other
    id, revoked or expired tokens included, is not found."""
    token = db.session.scalar(active_api_tokens(user).where(ApiToken.id == token_id))
    if token is None:
        raise NotFound()
    revoke_api_token(token)


def revoke_all_api_tokens(user: User) -> None:
    revoked = db.session.scalars(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now_utc())
        .returning(ApiToken.id)
    ).all()
    if revoked:
        record_event("token.revoked_all", actor=user, target_type="user", target_id=user.id,
                     details={"count": len(revoked), "token_ids": revoked})


def revoke_all_access(user: User, *, reason: str, keep_session_token: str | None = None) -> None:
    """End every browser session of the account (but the one holding
    `keep_session_token`), revoke every API token, and tell the features above
    (`access_revoked`: booking revokes the calendar feed URL). Audited."""
    ended = session_records.end_all_session_records(user, keep_token=keep_session_token)
    if ended:
        record_event("session.ended_all", actor=user, target_type="user", target_id=user.id,
                     details={"count": ended, "reason": reason})
    revoke_all_api_tokens(user)
    access_revoked.send(current_app._get_current_object(), user=user, reason=reason)


def change_password(user: User, new_password: str, *, method: str = "account",
                    keep_session_token: str | None = None) -> None:
    """Set a new password (strength rules apply), lift any lock-out, and end
    every way in (`revoke_all_access`) but the session making the change."""
    problems = passwords.password_problems(new_password)
    if problems:
        raise InvalidAccountData(fields={"password": problems})
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = now_utc()
    user.failed_login_count = 0
    user.locked_until = None
    record_event("password.changed", actor=user, target_type="user", target_id=user.id, details={"method": method})
    revoke_all_access(user, reason="password_changed", keep_session_token=keep_session_token)


def change_own_password(user: User, current_password: str, new_password: str, *,
                        keep_session_token: str | None = None) -> None:
    """The account page: the current password is required (a failure counts
    towards the lock-out), then as `change_password`; the session holding
    `keep_session_token` (the one making the change) stays open."""
    try:
        confirm_identity(user, current_password, purpose="password_change", with_totp=False)
    except WrongPassword as error:
        error.fields = {"current_password": error.fields["password"]}
        raise
    change_password(user, new_password, keep_session_token=keep_session_token)



def _password_fingerprint(user: User) -> str:
    # Tied to the current hash, so a token stops working once it has been used.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def password_reset_token(user: User) -> str:
    return link_serializer("password-reset").dumps({"user_id": user.id, "fp": _password_fingerprint(user)})


def request_password_reset(email: str) -> None:
    """Queue a reset link for the account with this email, if there is one
    (the caller answers the same either way). Audited both ways."""
    user = find_user_by_email(email)
    if user is None:
        record_event("password.reset_requested", details={"reason": "unknown_account"})
        return
    record_event("password.reset_requested", target_type="user", target_id=user.id)
    token = password_reset_token(user)
    messages.notify_password_reset(
        key=messages.token_key("password-reset", user.id, token), to=user.email, locale=user.locale,
        reset_url=external_url("accounts.reset_password", token=token),
        valid_minutes=current_app.config["CARNET_PASSWORD_RESET_MINUTES"], user_id=user.id,
    )



def send_email_confirmation(user: User) -> None:
    """Queue the link that proves the account owns its email address."""
    token = link_serializer("email-confirmation").dumps({"user_id": user.id, "email": user.email})
    messages.notify_account_confirmation(
        key=messages.token_key("account-confirmation", user.id, token), to=user.email, locale=user.locale,
        confirm_url=external_url("accounts.confirm_email", token=token), user_id=user.id,
    )


def confirm_email(token: str) -> User:
    """Mark the address confirmed; the link is valid for the configured days
    and only for the address it was sent to."""
    max_age = current_app.config["CARNET_EMAIL_CONFIRMATION_DAYS"] * 86400
    try:
        data = link_serializer("email-confirmation").loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        raise InvalidAccountData(_l("This confirmation link is invalid or has expired.")) from None
    user = db.session.get(User, data.get("user_id"))
    if user is None or user.email != data.get("email"):
        raise InvalidAccountData(_l("This confirmation link is invalid or has expired."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now_utc()
    return user


def reset_password(token: str, new_password: str) -> User:
    max_age = current_app.config["CARNET_PASSWORD_RESET_MINUTES"] * 60
    try:
        data = link_serializer("password-reset").loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        raise InvalidAccountData(_l("This reset link is invalid or has expired.")) from None
    user = db.session.get(User, data.get("user_id"))
    if user is None or data.get("fp") != _password_fingerprint(user):
        raise InvalidAccountData(_l("This reset link is invalid or has expired."))
    change_password(user, new_password, method="reset_link")
    return user


def acting_patient_ids(user: User) -> set[int]:
    """The patient profiles this account may act for: its own and its relatives'."""
    ids = set(db.session.scalars(sa.select(PatientProxy.patient_id).where(PatientProxy.user_id == user.id)))
    if user.patient_profile is not None:
        ids.add(user.patient_profile.id)
    return ids


def can_act_for_patient(user: User, patient_id: int) -> bool:
    return patient_id in acting_patient_ids(user)


def list_relatives(user: User) -> list[PatientProfile]:
    return list(db.session.scalars(
        sa.select(PatientProfile)
        .join(PatientProxy, PatientProxy.patient_id == PatientProfile.id)
        .where(PatientProxy.user_id == user.id)
        .order_by(PatientProfile.birth_date)
    ))


def add_relative(user: User, *, first_name: str, last_name: str, birth_date: dt.date,
                 sex: str | None = None) -> PatientProfile:
    """A patient account adds a profile it will act for (a child, a dependant);
    names and birth date follow `identity_rules`."""
    if user.role is not Role.PATIENT:
        raise NotFound()
    if problems := identity_problems(first_name=first_name, last_name=last_name, birth_date=birth_date):
        raise InvalidAccountData(fields=problems)
    profile = PatientProfile(first_name=first_name.strip(), last_name=last_name.strip(), birth_date=birth_date,
                             sex=Sex(sex) if sex else None)
    db.session.add(profile)
    db.session.add(PatientProxy(user=user, patient=profile))
    db.session.flush()
    # Acting for a profile grants access to its bookings and notebook.
    record_event("relative.added", actor=user, target_type="patient_profile", target_id=profile.id)
    return profile


def clinic_ids_of(user: User, clinic_role: ClinicRole | None = None) -> list[int]:
    """The clinics the user is a member of (in `clinic_role` if given)."""
    statement = sa.select(ClinicMember.clinic_id).where(ClinicMember.user_id == user.id)
    if clinic_role is not None:
        statement = statement.where(ClinicMember.clinic_role == clinic_role)
    return list(db.session.scalars(statement.order_by(ClinicMember.clinic_id)))


def practitioner_user_ids_of_clinic(staff_user: User, clinic_role: ClinicRole) -> set[int]:
    """Users of the practitioners of the clinics where this staff member holds
    `clinic_role` (a secretary's agendas, an accountant's subscribers)."""
    clinic_ids = sa.select(ClinicMember.clinic_id).where(ClinicMember.user_id == staff_user.id,
                                                         ClinicMember.clinic_role == clinic_role)
    return set(db.session.scalars(
        sa.select(PractitionerProfile.user_id).where(PractitionerProfile.clinic_id.in_(clinic_ids))
    ))


def operator_recipients() -> list[tuple[str, str | None, int | None]]:
    """Where operator alerts go, as (email, locale, user id): the
    CARNET_OPERATOR_EMAIL mailbox if set, else every active admin account."""
    if address := current_app.config["CARNET_OPERATOR_EMAIL"]:
        return [(address, None, None)]
    admins = db.session.scalars(
        sa.select(User).where(User.role == Role.ADMIN, User.is_active_account.is_(True)).order_by(User.id))
    return [(admin.email, admin.locale, admin.id) for admin in admins]
