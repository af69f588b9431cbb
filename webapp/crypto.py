"""Encryption at rest with the configured keys (Fernet; newest key first, older keys still read)."""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class DecryptionError(RuntimeError):
    """The data was not encrypted by any of the configured keys, or was altered."""


@lru_cache(maxsize=8)
def _cipher_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _cipher() -> MultiFernet:
    return _cipher_for(tuple(current_app.config["CARNET_ENCRYPTION_KEYS"]))


def encrypt(data: bytes) -> bytes:
    """Encrypt and authenticate `data` under the newest configured key."""
    return _cipher().encrypt(data)


def decrypt(token: bytes) -> bytes:
    """Decrypt a token written under any configured key (key rotation)."""
    try:
        return _cipher().decrypt(token)
    except InvalidToken:
        raise DecryptionError("the data cannot be decrypted with the configured keys") from None


def reencrypt(token: bytes) -> bytes:
    """The same data under the newest key, to retire an old key after rotation."""
    try:
        return _cipher().rotate(token)
    except InvalidToken:
        raise DecryptionError("the data cannot be decrypted with the configured keys") from None
