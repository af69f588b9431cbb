"""PostgreSQL keeps the notebook and the audit trail append-only, whatever the client.

The app runs as the runtime role (tests/conftest.py, README "Production"): it
owns no table, so it can neither drop them nor turn the triggers off. Even the
owner is refused row changes, except the ciphertext rewrite of re-encryption.
"""

import pytest
import sqlalchemy as sa

from tests.audit.factories import make_events
from tests.notebook.factories import emergency_request
from webapp.accounts.models import Role
from webapp.extensions import db
from webapp.notebook.emergency import grant_emergency_access
from webapp.notebook.models import AccessAction, AccessLogEntry, Attachment, NotebookEntry
from webapp.transaction import transaction

pytestmark = pytest.mark.postgres_only

APPEND_ONLY_TABLES = ("notebook_entries", "notebook_attachments", "notebook_emergency_accesses",
                      "notebook_access_log", "audit_events", "audit_chain_heads")


@pytest.fixture
def rows(world):
    """One row in each append-only table."""
    db.session.add(AccessLogEntry(patient_id=world.patient.id, actor_user_id=world.users["treating"].id,
                                  actor_role=Role.PRACTITIONER, action=AccessAction.VIEW_ENTRY,
                                  entry_id=world.entry.id))
    db.session.commit()
    with transaction():
        grant_emergency_access(world.users["unrelated"], world.patient.id,
                               **emergency_request(world.patient, world.users["unrelated"]))
    make_events(2)
    return world


def _snapshot(connection) -> dict:
    return {table: sorted(tuple(row) for row in connection.execute(sa.text(f"SELECT * FROM {table}")))
            for table in APPEND_ONLY_TABLES}


def _refused(engine, *statements, match="append-only"):
    with pytest.raises(sa.exc.DBAPIError, match=match), engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))


@pytest.mark.parametrize("statement", [
    "UPDATE notebook_entries SET kind = 'report'",
    "UPDATE notebook_entries SET content = content",
    "DELETE FROM notebook_entries WHERE id NOT IN (SELECT entry_id FROM notebook_attachments)",
    "UPDATE notebook_attachments SET content_type = 'text/plain'",
    "DELETE FROM notebook_attachments",
    "UPDATE notebook_access_log SET actor_user_id = patient_id",
    "DELETE FROM notebook_access_log",
    "DELETE FROM notebook_emergency_accesses",
    "UPDATE audit_events SET action = 'nothing'",
])
def test_the_app_cannot_change_or_delete_rows(rows, statement):
    db.session.rollback()
    with db.engine.connect() as connection:
        before = _snapshot(connection)
    _refused(db.engine, statement)
    with db.engine.connect() as connection:
        assert _snapshot(connection) == before


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_nobody_truncates_an_append_only_table(rows, owner_engine, table):
    db.session.rollback()
    _refused(db.engine, f"TRUNCATE {table}", match="permission denied")  # no TRUNCATE privilege
    _refused(owner_engine, f"TRUNCATE {table} CASCADE", match="TRUNCATE refused")  # the owner: the trigger


@pytest.mark.parametrize("statement", [
    "ALTER TABLE notebook_entries DISABLE TRIGGER ALL",
    "ALTER TABLE notebook_access_log DISABLE TRIGGER notebook_access_log_append_only",
    "DROP TABLE notebook_access_log",
    "DROP TRIGGER audit_events_append_only ON audit_events",
    "SET session_replication_role = replica",
])
def test_the_app_cannot_turn_the_guards_off(rows, statement):
    db.session.rollback()
    _refused(db.engine, statement, match="must be owner|permission denied")


def test_the_app_owns_no_table_and_is_no_superuser(app):
    with db.engine.connect() as connection:
        role = connection.execute(sa.text(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user")).one()
        owned = connection.scalar(sa.text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user"))
    assert tuple(role) == (False, False, False) and owned == 0


def test_the_app_saying_it_reencrypts_is_still_refused(rows):
    db.session.rollback()
    _refused(db.engine, "SET LOCAL carnet.reencrypt = 'on'", "UPDATE notebook_entries SET content = content")


def test_the_owner_rewrites_only_ciphertext_and_only_when_reencrypting(rows, owner_engine):
    db.session.rollback()
    _refused(owner_engine, "UPDATE notebook_entries SET content = content")  # without saying so
    _refused(owner_engine, "SET LOCAL carnet.reencrypt = 'on'", "UPDATE notebook_entries SET kind = 'report'")
    _refused(owner_engine, "SET LOCAL carnet.reencrypt = 'on'", "DELETE FROM notebook_access_log")
    _refused(owner_engine, "SET LOCAL carnet.reencrypt = 'on'", "UPDATE notebook_access_log SET emergency = true")
    with owner_engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL carnet.reencrypt = 'on'"))
        changed = connection.execute(sa.text("UPDATE notebook_entries SET content = content || '\\x00'::bytea"))
        connection.execute(sa.text("UPDATE notebook_attachments SET filename = filename, content = content"))
        connection.execute(sa.text("UPDATE notebook_emergency_accesses SET reason = reason"))
    assert changed.rowcount == db.session.scalar(sa.select(sa.func.count()).select_from(NotebookEntry))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1


def test_grant_runtime_role_prints_the_statements_of_the_readme(owner_app):
    with owner_app.app_context():
        result = owner_app.test_cli_runner().invoke(args=["grant-runtime-role", "carnet_app", "--print-sql"])
    assert result.exit_code == 0, result.output
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO carnet_app;" in result.output
    assert "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO carnet_app;" \
        in result.output
