"""Encryption at rest: ciphertext in the database, key rotation, re-encryption, refusing lost keys."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from config import ConfigurationError
from tests.notebook.factories import PDF_BYTES, emergency_request, make_attachment, make_entry
from webapp.extensions import db
from webapp.notebook import emergency, reading
from webapp.notebook.keys import check_encryption_keys
from webapp.notebook.models import Attachment, EmergencyAccess, NotebookEntry
from webapp.transaction import transaction

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Séropositivité VIH découverte"


def _raw(table, column) -> list[bytes]:
    return [bytes(value) for value in db.session.execute(sa.select(table.c[column])).scalars()]


def _use_keys(monkeypatch, app, *keys) -> None:
    monkeypatch.setitem(app.config, "CARNET_ENCRYPTION_KEYS", list(keys))
    db.session.expire_all()


def test_database_holds_only_ciphertext(world):
    entry = make_entry(world.patient, kind="allergy", title="Allergie grave", body=SECRET,
                       data={"substance": "Pénicilline", "severity": "severe"})
    make_attachment(entry, content=PDF_BYTES + SECRET.encode(), filename="bilan-VIH.pdf")
    with transaction():
        user = world.users["unrelated"]
        emergency.grant_emergency_access(user, world.patient.id,
                                         **emergency_request(world.patient, user, reason="Coma diabétique en cours"))
    db.session.commit()
    stored = b"".join(_raw(NotebookEntry.__table__, "content") + _raw(Attachment.__table__, "content")
                      + _raw(Attachment.__table__, "filename") + _raw(EmergencyAccess.__table__, "reason"))
    for clear in (SECRET, "Pénicilline", "Allergie grave", "bilan-VIH", "Coma", "%PDF", "Résultats sensibles"):
        assert clear.encode() not in stored
        assert clear.encode("unicode_escape") not in stored
    db.session.expire_all()
    assert db.session.get(NotebookEntry, entry.id).body == SECRET


def test_old_key_second_in_the_list_still_reads_and_reencrypt_retires_it(app, owner_app, world, monkeypatch):
    old_key = app.config["CARNET_ENCRYPTION_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    _use_keys(monkeypatch, app, new_key, old_key)
    monkeypatch.setitem(owner_app.config, "CARNET_ENCRYPTION_KEYS", [new_key, old_key])
    assert db.session.get(NotebookEntry, world.entry.id).body == "Texte très confidentiel"
    written_after_rotation = make_entry(world.patient, title="Après rotation", body="Nouveau")
    with transaction():
        user = world.users["unrelated"]
        emergency.grant_emergency_access(user, world.patient.id,
                                         **emergency_request(world.patient, user, reason="Malaise grave au cabinet"))

    # As the migration role, which owns the tables (README "Production"); the
    # command runs in the app context it finds, so push the owner's.
    with owner_app.app_context():
        result = owner_app.test_cli_runner().invoke(args=["notebook", "reencrypt"])
    assert result.exit_code == 0, result.output
    assert "notebook_entries: 3 rows re-encrypted" in result.output

    _use_keys(monkeypatch, app, new_key)
    check_encryption_keys()
    assert db.session.get(NotebookEntry, world.entry.id).body == "Texte très confidentiel"
    assert db.session.get(NotebookEntry, written_after_rotation.id).title == "Après rotation"
    attachment = db.session.get(Attachment, world.attachment.id)
    assert attachment.original_filename == "compte-rendu.pdf"
    assert reading.get_attachment(world.users["patient"], world.patient.id, world.entry.id,
                                  world.attachment.id).content_type == "application/pdf"
    _use_keys(monkeypatch, app, old_key)
    with pytest.raises(ConfigurationError):
        check_encryption_keys()


def test_missing_key_is_refused_with_a_clear_message(app, world, monkeypatch):
    check_encryption_keys()
    _use_keys(monkeypatch, app, Fernet.generate_key().decode())
    with pytest.raises(ConfigurationError, match="none of the keys in CARNET_ENCRYPTION_KEYS can decrypt"):
        check_encryption_keys()
    result = app.test_cli_runner().invoke(args=["notebook", "check-keys"])
    assert result.exit_code != 0 and "the key that wrote it is missing" in result.output


@pytest.mark.parametrize("keys", [[], ["not-a-fernet-key"]])
def test_unusable_keys_are_refused(app, monkeypatch, keys):
    _use_keys(monkeypatch, app, *keys)
    with pytest.raises(ConfigurationError, match="not a Fernet key"):
        check_encryption_keys()


def test_any_valid_key_starts_an_empty_notebook(app, monkeypatch):
    _use_keys(monkeypatch, app, Fernet.generate_key().decode())
    check_encryption_keys()


def test_the_app_refuses_to_start_when_stored_data_cannot_be_decrypted(app, world):
    environment = os.environ | {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CARNET_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    refused = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=environment,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "ConfigurationError" in refused.stderr and "the key that wrote it is missing" in refused.stderr
    environment["CARNET_ENCRYPTION_KEYS"] = ",".join([Fernet.generate_key().decode(),
                                                      *app.config["CARNET_ENCRYPTION_KEYS"]])
    started = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=environment,
                             capture_output=True, text=True, timeout=60)
    assert started.returncode == 0, started.stderr


@pytest.mark.postgres_only
def test_the_runtime_role_cannot_reencrypt(app, world, monkeypatch):
    """Rewriting ciphertext is the owner's maintenance, never the web nodes': a
    runtime role that says it re-encrypts is still refused by the triggers."""
    before = _raw(NotebookEntry.__table__, "content")
    _use_keys(monkeypatch, app, Fernet.generate_key().decode(), *app.config["CARNET_ENCRYPTION_KEYS"])
    result = app.test_cli_runner().invoke(args=["notebook", "reencrypt"])
    assert result.exit_code != 0 and "append-only" in str(result.exception)
    db.session.rollback()
    assert _raw(NotebookEntry.__table__, "content") == before
