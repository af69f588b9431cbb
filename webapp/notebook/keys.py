"""Encryption keys of the notebook: the startup check and re-encryption under the newest key."""

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from config import ConfigurationError
from webapp.crypto import DecryptionError, decrypt, encrypt, reencrypt
from webapp.extensions import db
from webapp.notebook.models import Attachment, EmergencyAccess, NotebookDigest, NotebookEntry
from webapp.transaction import transaction

# Every encrypted column of the notebook.
ENCRYPTED_COLUMNS = (
    (NotebookEntry.__table__, ("content",)),
    (Attachment.__table__, ("filename", "content")),
    (EmergencyAccess.__table__, ("reason",)),
    (NotebookDigest.__table__, ("content",)),
)
BATCH_SIZE = 200

notebook_cli = AppGroup("notebook", help="Notebook maintenance: encryption keys.")


def _samples() -> list[bytes]:
    """The oldest and newest ciphertext of each encrypted column (the keys most
    likely to be missing wrote them); none of a table before a migration gives
    it the columns read (so that `flask db upgrade` can run)."""
    inspector = sa.inspect(db.engine)
    samples = []
    for table, columns in ENCRYPTED_COLUMNS:
        key = table.primary_key.columns.values()[0]
        stored = {column["name"] for column in inspector.get_columns(table.name)} \
            if inspector.has_table(table.name) else set()
        if not {key.name, *columns} <= stored:
            continue
        for order in (key.asc(), key.desc()):
            row = db.session.execute(sa.select(*(table.c[name] for name in columns)).order_by(order).limit(1)).first()
            samples.extend(row or ())
    return samples


def check_encryption_keys() -> None:
    """Refuse to run with keys that cannot encrypt, or that cannot read the
    encrypted data already stored (a lost or removed key must never be silent)."""
    try:
        encrypt(b"key check")
    except ValueError:
        raise ConfigurationError(
            "CARNET_ENCRYPTION_KEYS is empty or holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes): the notebook cannot be encrypted."
        ) from None
    try:
        for sample in _samples():
            decrypt(sample)
    except DecryptionError:
        raise ConfigurationError(
            "Encrypted notebook data exists that none of the keys in CARNET_ENCRYPTION_KEYS can decrypt: "
            "the key that wrote it is missing. Put it back in the list (newest key first, older keys after) "
            "and start again; remove an old key only after `flask notebook reencrypt`."
        ) from None
    finally:
        db.session.rollback()


def reencrypt_batch(table: sa.Table, columns: tuple[str, ...], after) -> tuple[int, object]:
    """Re-encrypt up to BATCH_SIZE rows of `table` after key `after` under the
    newest key; returns how many rows and the last key seen."""
    key = table.primary_key.columns.values()[0]
    statement = sa.select(key, *(table.c[name] for name in columns)).order_by(key).limit(BATCH_SIZE)
    if after is not None:
        statement = statement.where(key > after)
    rows = db.session.execute(statement).all()
    if rows and db.session.get_bind().dialect.name == "postgresql":
        # The append-only triggers let the tables' owner rewrite only the ciphertext
        # columns, and only in a transaction that says so (the baseline migration's triggers).
        db.session.execute(sa.text("SET LOCAL carnet.reencrypt = 'on'"))
    for row in rows:
        db.session.execute(
            sa.update(table).where(key == row[0])
            .values({name: reencrypt(value) for name, value in zip(columns, row[1:], strict=True)})
        )
    return len(rows), rows[-1][0] if rows else after


@notebook_cli.command("reencrypt")
def reencrypt_command() -> None:
    """Re-encrypt every notebook body, data, file and reason under the newest key.

    On PostgreSQL, run it as the migration role (the tables' owner), as for
    `flask db upgrade`: the runtime role may not rewrite notebook rows."""
    for table, columns in ENCRYPTED_COLUMNS:
        total, after = 0, None
        while True:
            with transaction():
                count, after = reencrypt_batch(table, columns, after)
            total += count
            if count < BATCH_SIZE:
                break
        click.echo(f"{table.name}: {total} rows re-encrypted under the newest key.")


@notebook_cli.command("check-keys")
def check_keys_command() -> None:
    """Fail unless the configured keys can encrypt and read the stored notebook data."""
    try:
        check_encryption_keys()
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from None
    click.echo("The encryption keys read the stored notebook data.")
