"""Billing: the invoice PDF stored at issue, the buyer's SIREN/SIRET, VAT number and structured address; no DELETE.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05 11:00:00.000000

`billing_invoices.document_pdf` holds the PDF as issued. Invoices issued
before this revision have none: the first download renders it and stores
it (the one UPDATE the guards let through: NULL to bytes, nothing else
changed). On PostgreSQL, issued invoices and their lines now refuse DELETE
and TRUNCATE too; SQLite relies on the ORM guard for deletes.
"""
from alembic import op
import sqlalchemy as sa


revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


IMMUTABLE_TABLES = ("billing_invoices", "billing_invoice_lines")
def _new_invoice_columns() -> list[sa.Column]:
    return [
    sa.Column('buyer_street', sa.String(length=200), nullable=True),
    sa.Column('buyer_postcode', sa.String(length=10), nullable=True),
    sa.Column('buyer_city', sa.String(length=100), nullable=True),
    sa.Column('buyer_country', sa.String(length=2), nullable=True),
    sa.Column('buyer_siret', sa.String(length=14), nullable=True),
    sa.Column('buyer_vat_number', sa.String(length=20), nullable=True),
    sa.Column('document_pdf', sa.LargeBinary(), nullable=True),
    ]
# Every column of billing_invoices but the document: SQLite's trigger lists them.
INVOICE_COLUMNS = (
    "id", "number", "year", "seq", "kind", "subscription_id", "credit_of_id", "issued_at", "due_at",
    "period_start", "period_end", "currency", "total_ht_cents", "vat_cents", "total_ttc_cents", "seller_name",
    "seller_address", "seller_siret", "seller_vat_number", "buyer_name", "buyer_address", "buyer_identifier",
    "reason", "external_id", "buyer_street", "buyer_postcode", "buyer_city", "buyer_country", "buyer_siret",
    "buyer_vat_number",
)

# The one UPDATE allowed: storing the document of an invoice that has none.
REFUSE_CHANGE = """
CREATE FUNCTION billing_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Nested: PL/pgSQL does not short-circuit AND, and lines have no document_pdf.
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'billing_invoices' THEN
        IF OLD.document_pdf IS NULL AND NEW.document_pdf IS NOT NULL
           AND (to_jsonb(NEW) - 'document_pdf') = (to_jsonb(OLD) - 'document_pdf') THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'issued invoices are immutable: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
"""
REFUSE_TRUNCATE = """
CREATE FUNCTION billing_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'issued invoices are immutable: TRUNCATE on % refused', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
"""


def upgrade():
    with op.batch_alter_table('billing_invoices', schema=None) as batch_op:
        for column in _new_invoice_columns():
            batch_op.add_column(column)
    with op.batch_alter_table('billing_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('billing_siret', sa.String(length=14), nullable=True))
        batch_op.add_column(sa.Column('billing_vat_number', sa.String(length=20), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE_CHANGE)
        op.execute(REFUSE_TRUNCATE)
        for table in IMMUTABLE_TABLES:
            op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
            op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION billing_refuse_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION billing_refuse_truncate()")
        op.execute("DROP FUNCTION billing_refuse_update()")
    else:
        # SQLite: any column but the document refuses UPDATE; the document is written once.
        op.execute("DROP TRIGGER billing_invoices_immutable")
        op.execute(f"CREATE TRIGGER billing_invoices_immutable BEFORE UPDATE OF {', '.join(INVOICE_COLUMNS)} "
                   "ON billing_invoices BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END")
        op.execute("CREATE TRIGGER billing_invoices_document_once BEFORE UPDATE OF document_pdf ON billing_invoices "
                   "WHEN OLD.document_pdf IS NOT NULL "
                   "BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION billing_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'issued invoices are immutable' USING ERRCODE = 'restrict_violation'; END $$"
        )
        for table in IMMUTABLE_TABLES:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
            op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION billing_refuse_update()")
        op.execute("DROP FUNCTION billing_refuse_truncate()")
        op.execute("DROP FUNCTION billing_refuse_change()")
    else:
        op.execute("DROP TRIGGER billing_invoices_document_once")
        op.execute("DROP TRIGGER billing_invoices_immutable")
    with op.batch_alter_table('billing_subscriptions', schema=None) as batch_op:
        batch_op.drop_column('billing_vat_number')
        batch_op.drop_column('billing_siret')
    with op.batch_alter_table('billing_invoices', schema=None) as batch_op:
        for column in reversed(_new_invoice_columns()):
            batch_op.drop_column(column.name)
    if op.get_bind().dialect.name != "postgresql":
        op.execute("CREATE TRIGGER billing_invoices_immutable BEFORE UPDATE ON billing_invoices "
                   "BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END")
