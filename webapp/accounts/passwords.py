"""Password hashing (argon2id) and strength rules."""

import hashlib
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

MIN_PASSWORD_LENGTH = 10


@cache
def _hasher_with(time_cost: int, memory_kib: int) -> tuple[PasswordHasher, str]:
    """The hasher for these costs and a hash of nothing: verifying against it
    keeps the time of a login for an unknown email close to that of a known
    one, so timing does not reveal accounts."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    return hasher, hasher.hash("carnet-dummy-password")


def _hasher() -> tuple[PasswordHasher, str]:
    # Production keeps argon2's recommended costs; the test suite lowers them.
    config = current_app.config
    return _hasher_with(config["CARNET_ARGON2_TIME_COST"], config["CARNET_ARGON2_MEMORY_KIB"])


def hash_password(password: str) -> str:
    hasher, _ = _hasher()
    return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    # A hash keeps the costs it was made with, so older hashes still verify after a change.
    hasher, dummy_hash = _hasher()
    try:
        return hasher.verify(password_hash or dummy_hash, password) and password_hash is not None
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


def fingerprint(password_hash: str) -> str:
    """A short digest of the current hash, for links that must stop working
    once the password changes (a reset link, an email change)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]
