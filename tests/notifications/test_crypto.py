"""Encryption at rest (webapp.crypto): round trip, key rotation, tampering."""

import pytest
from cryptography.fernet import Fernet

from webapp import crypto


@pytest.fixture
def keys(app):
    saved = app.config["CARNET_ENCRYPTION_KEYS"]
    yield app.config
    app.config["CARNET_ENCRYPTION_KEYS"] = saved


def test_round_trip_hides_the_data():
    token = crypto.encrypt("Allergie à la pénicilline".encode())
    assert "pénicilline".encode() not in token
    assert crypto.decrypt(token).decode() == "Allergie à la pénicilline"


def test_data_written_under_an_old_key_stays_readable_after_rotation(keys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    keys["CARNET_ENCRYPTION_KEYS"] = [old]
    token = crypto.encrypt(b"entry")
    keys["CARNET_ENCRYPTION_KEYS"] = [new, old]
    assert crypto.decrypt(token) == b"entry"
    rotated = crypto.reencrypt(token)
    keys["CARNET_ENCRYPTION_KEYS"] = [new]
    assert crypto.decrypt(rotated) == b"entry"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


def test_altered_data_is_refused():
    token = bytearray(crypto.encrypt(b"entry"))
    token[-5] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(bytes(token))
