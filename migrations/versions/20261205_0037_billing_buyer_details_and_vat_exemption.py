"""Billing: the buyer's company name and billing address on the subscription; the VAT exemption of an
invoice; a subscription's status history.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-05 12:40:00.000000

A subscription keeps the company identity its invoices are made out to
(legal name, billing address in parts, beside the SIREN/SIRET and VAT
number of 0035). An invoice keeps, as issued, why its 0 % lines carry no
VAT (the reason printed and its VATEX code in the Factur-X XML), so the
document rendered later from the row says what it said at issue. The
SQLite guard lists every column but the document: the two new ones join it.
`billing_subscription_status_changes` records each status a subscription
takes from now on (its history starts here for existing ones).
"""
from alembic import op
import sqlalchemy as sa


revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None

# Every column of billing_invoices but the document (0035's list and this revision's two).
INVOICE_COLUMNS_BEFORE = (
    "id", "number", "year", "seq", "kind", "subscription_id", "credit_of_id", "issued_at", "due_at",
    "period_start", "period_end", "currency", "total_ht_cents", "vat_cents", "total_ttc_cents", "seller_name",
    "seller_address", "seller_siret", "seller_vat_number", "buyer_name", "buyer_address", "buyer_identifier",
    "reason", "external_id", "buyer_street", "buyer_postcode", "buyer_city", "buyer_country", "buyer_siret",
    "buyer_vat_number",
)
INVOICE_COLUMNS = INVOICE_COLUMNS_BEFORE + ("vat_exemption_code", "vat_exemption_reason")


def _sqlite_guard(columns) -> None:
    op.execute("DROP TRIGGER billing_invoices_immutable")
    op.execute(f"CREATE TRIGGER billing_invoices_immutable BEFORE UPDATE OF {', '.join(columns)} "
               "ON billing_invoices BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END")


STATUSES = ('trialing', 'active', 'past_due', 'suspended', 'cancelled')


def upgrade():
    op.create_table(
        'billing_subscription_status_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=False),
        sa.Column('from_status', sa.Enum(*STATUSES, name='subscriptionstatus', native_enum=False, length=30),
                  nullable=True),
        sa.Column('to_status', sa.Enum(*STATUSES, name='subscriptionstatus', native_enum=False, length=30),
                  nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['subscription_id'], ['billing_subscriptions.id'],
                                name=op.f('fk_billing_subscription_status_changes_subscription_id_billing_subscriptions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_subscription_status_changes')),
    )
    op.create_index(op.f('ix_billing_subscription_status_changes_subscription_id'),
                    'billing_subscription_status_changes', ['subscription_id'], unique=False)
    # Plain ADD COLUMN (no table copy): the tables keep their triggers.
    op.add_column('billing_subscriptions', sa.Column('billing_name', sa.String(length=200), nullable=True))
    op.add_column('billing_subscriptions', sa.Column('billing_street', sa.String(length=200), nullable=True))
    op.add_column('billing_subscriptions', sa.Column('billing_postcode', sa.String(length=10), nullable=True))
    op.add_column('billing_subscriptions', sa.Column('billing_city', sa.String(length=100), nullable=True))
    op.add_column('billing_invoices', sa.Column('vat_exemption_code', sa.String(length=30), nullable=True))
    op.add_column('billing_invoices', sa.Column('vat_exemption_reason', sa.String(length=200), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_guard(INVOICE_COLUMNS)


def downgrade():
    op.drop_index(op.f('ix_billing_subscription_status_changes_subscription_id'),
                  table_name='billing_subscription_status_changes')
    op.drop_table('billing_subscription_status_changes')
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_guard(INVOICE_COLUMNS_BEFORE)
    # Plain DROP COLUMN too: a table copy would lose the guards.
    for column in ('vat_exemption_reason', 'vat_exemption_code'):
        op.drop_column('billing_invoices', column)
    for column in ('billing_city', 'billing_postcode', 'billing_street', 'billing_name'):
        op.drop_column('billing_subscriptions', column)
