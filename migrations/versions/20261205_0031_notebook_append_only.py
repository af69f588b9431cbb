"""Notebook and audit trail append-only in the database: no UPDATE, DELETE or TRUNCATE.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 14:00:00.000000

PostgreSQL only (SQLite relies on the ORM guard, webapp.notebook.guards).
Entries, attachments, emergency grants and the access log refuse any UPDATE,
DELETE or TRUNCATE, whoever the client is. The one legitimate write is
`flask notebook reencrypt` (webapp.notebook.keys): it rewrites the ciphertext
columns under the newest key. The database cannot check that the new
ciphertext holds the same text (it has no key), so that UPDATE is allowed
only to the tables' owner (the migration role, which could drop the trigger
anyway, never the runtime role the web nodes use), only when the
transaction says `SET LOCAL carnet.reencrypt = 'on'`, and only if nothing
but the ciphertext columns changes. The audit tables (0005) already refuse
row changes; they now refuse TRUNCATE too.
"""
from alembic import op


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

# Table -> the ciphertext columns that re-encryption may rewrite (webapp.notebook.keys.ENCRYPTED_COLUMNS).
NOTEBOOK_TABLES = {
    "notebook_entries": ("content",),
    "notebook_attachments": ("filename", "content"),
    "notebook_emergency_accesses": ("reason",),
    "notebook_access_log": (),
}
AUDIT_TABLES = ("audit_events", "audit_chain_heads")

REFUSE_ROW_CHANGE = """
CREATE FUNCTION notebook_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    allowed text[] := TG_ARGV;  -- the ciphertext columns re-encryption may rewrite
    owner oid;
BEGIN
    IF TG_OP = 'UPDATE' AND cardinality(allowed) > 0
       AND current_setting('carnet.reencrypt', true) = 'on' THEN
        SELECT relowner INTO owner FROM pg_class WHERE oid = TG_RELID;
        IF pg_has_role(current_user, owner, 'MEMBER')
           AND (to_jsonb(NEW) - allowed) = (to_jsonb(OLD) - allowed) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the notebook is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

REFUSE_TRUNCATE = """
CREATE FUNCTION append_only_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _arguments(columns: tuple[str, ...]) -> str:
    return ", ".join(f"'{column}'" for column in columns)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(REFUSE_ROW_CHANGE)
    op.execute(REFUSE_TRUNCATE)
    for table, columns in NOTEBOOK_TABLES.items():
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION notebook_refuse_change({_arguments(columns)})")
    for table in (*NOTEBOOK_TABLES, *AUDIT_TABLES):
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION append_only_refuse_truncate()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in (*NOTEBOOK_TABLES, *AUDIT_TABLES):
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
    for table in NOTEBOOK_TABLES:
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute("DROP FUNCTION append_only_refuse_truncate()")
    op.execute("DROP FUNCTION notebook_refuse_change()")
