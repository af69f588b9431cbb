"""Password hashing (argon2id) and strength rules."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown email
# close to that of a known one, so timing does not reveal accounts.
_DUMMY_HASH = _hasher.hash("carnet-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str) -> list[str]:
    """Why a password is too weak; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(str(_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)))
    if password.isalpha() or password.isdigit() or len(set(password)) < 5:
        problems.append(str(_l("Mix letters with digits or symbols.")))
    return problems
