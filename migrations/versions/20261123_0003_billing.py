"""Billing: plans, subscriptions, numbered immutable invoices, payments, Stripe events.

Revision ID: 0003
Revises: 0004
Create Date: 2026-11-23 07:45:46.887174

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0004'
branch_labels = None
depends_on = None


IMMUTABLE_TABLES = ("billing_invoices", "billing_invoice_lines")


def _create_immutability_triggers():
    """Issued invoices and their lines refuse any UPDATE, whatever the client."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION billing_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'issued invoices are immutable' USING ERRCODE = 'restrict_violation'; END $$"
        )
        for table in IMMUTABLE_TABLES:
            op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION billing_refuse_update()")
    else:
        for table in IMMUTABLE_TABLES:
            op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE ON {table} "
                       "BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END")


def _drop_immutability_triggers():
    is_postgres = op.get_bind().dialect.name == "postgresql"
    for table in IMMUTABLE_TABLES:
        op.execute(f"DROP TRIGGER {table}_immutable" + (f" ON {table}" if is_postgres else ""))
    if is_postgres:
        op.execute("DROP FUNCTION billing_refuse_update()")


def upgrade():
    op.create_table('billing_invoice_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_billing_invoice_counters'))
    )
    op.create_table('billing_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=30), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('vat_rate_bp', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('interval', sa.String(length=10), nullable=False),
    sa.Column('per_practitioner', sa.Boolean(), nullable=False),
    sa.Column('stripe_price_id', sa.String(length=100), nullable=True),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_billing_plans_price_not_negative')),
    sa.CheckConstraint('vat_rate_bp >= 0 AND vat_rate_bp <= 10000', name=op.f('ck_billing_plans_vat_rate_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_plans')),
    sa.UniqueConstraint('code', name=op.f('uq_billing_plans_code'))
    )
    op.create_table('billing_stripe_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_stripe_events'))
    )
    op.create_table('billing_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=True),
    sa.Column('clinic_id', sa.Integer(), nullable=True),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.Enum('manual', 'stripe', name='providername', native_enum=False, length=30), nullable=False),
    sa.Column('status', sa.Enum('trialing', 'active', 'past_due', 'suspended', 'cancelled', name='subscriptionstatus', native_enum=False, length=30), nullable=False),
    sa.Column('trial_ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('current_period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('current_period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancel_at_period_end', sa.Boolean(), nullable=False),
    sa.Column('past_due_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stripe_customer_id', sa.String(length=100), nullable=True),
    sa.Column('stripe_subscription_id', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(practitioner_id IS NULL) <> (clinic_id IS NULL)', name=op.f('ck_billing_subscriptions_one_subscriber')),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_billing_subscriptions_clinic_id_clinics')),
    sa.ForeignKeyConstraint(['plan_id'], ['billing_plans.id'], name=op.f('fk_billing_subscriptions_plan_id_billing_plans')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_billing_subscriptions_practitioner_id_practitioner_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_subscriptions')),
    sa.UniqueConstraint('clinic_id', name=op.f('uq_billing_subscriptions_clinic_id')),
    sa.UniqueConstraint('practitioner_id', name=op.f('uq_billing_subscriptions_practitioner_id')),
    sa.UniqueConstraint('stripe_customer_id', name=op.f('uq_billing_subscriptions_stripe_customer_id')),
    sa.UniqueConstraint('stripe_subscription_id', name=op.f('uq_billing_subscriptions_stripe_subscription_id'))
    )
    with op.batch_alter_table('billing_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_billing_subscriptions_status', ['status'], unique=False)

    op.create_table('billing_invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('invoice', 'credit_note', name='invoicekind', native_enum=False, length=30), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('credit_of_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_ht_cents', sa.Integer(), nullable=False),
    sa.Column('vat_cents', sa.Integer(), nullable=False),
    sa.Column('total_ttc_cents', sa.Integer(), nullable=False),
    sa.Column('seller_name', sa.String(length=200), nullable=False),
    sa.Column('seller_address', sa.String(length=300), nullable=False),
    sa.Column('seller_siret', sa.String(length=20), nullable=False),
    sa.Column('seller_vat_number', sa.String(length=20), nullable=False),
    sa.Column('buyer_name', sa.String(length=200), nullable=False),
    sa.Column('buyer_address', sa.String(length=300), nullable=False),
    sa.Column('buyer_identifier', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('external_id', sa.String(length=100), nullable=True),
    sa.CheckConstraint("(kind = 'credit_note') = (credit_of_id IS NOT NULL)", name=op.f('ck_billing_invoices_credit_note_reference')),
    sa.CheckConstraint('total_ttc_cents = total_ht_cents + vat_cents', name=op.f('ck_billing_invoices_ttc_is_ht_plus_vat')),
    sa.ForeignKeyConstraint(['credit_of_id'], ['billing_invoices.id'], name=op.f('fk_billing_invoices_credit_of_id_billing_invoices')),
    sa.ForeignKeyConstraint(['subscription_id'], ['billing_subscriptions.id'], name=op.f('fk_billing_invoices_subscription_id_billing_subscriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoices')),
    sa.UniqueConstraint('credit_of_id', name=op.f('uq_billing_invoices_credit_of_id')),
    sa.UniqueConstraint('external_id', name=op.f('uq_billing_invoices_external_id')),
    sa.UniqueConstraint('number', name=op.f('uq_billing_invoices_number')),
    sa.UniqueConstraint('subscription_id', 'period_start', name='uq_billing_invoices_subscription_period'),
    sa.UniqueConstraint('year', 'seq', name='uq_billing_invoices_year_seq')
    )
    with op.batch_alter_table('billing_invoices', schema=None) as batch_op:
        batch_op.create_index('ix_billing_invoices_issued_at', ['issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_billing_invoices_subscription_id'), ['subscription_id'], unique=False)

    op.create_table('billing_invoice_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_ht_cents', sa.Integer(), nullable=False),
    sa.Column('total_ht_cents', sa.Integer(), nullable=False),
    sa.Column('vat_rate_bp', sa.Integer(), nullable=False),
    sa.Column('vat_cents', sa.Integer(), nullable=False),
    sa.Column('total_ttc_cents', sa.Integer(), nullable=False),
    sa.CheckConstraint('total_ttc_cents = total_ht_cents + vat_cents', name=op.f('ck_billing_invoice_lines_line_ttc_is_ht_plus_vat')),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_invoice_lines_invoice_id_billing_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoice_lines'))
    )
    with op.batch_alter_table('billing_invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_invoice_lines_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('billing_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.Enum('bank_transfer', 'cheque', 'card', name='paymentmethod', native_enum=False, length=30), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_payments_invoice_id_billing_invoices')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_billing_payments_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_payments')),
    sa.UniqueConstraint('invoice_id', name=op.f('uq_billing_payments_invoice_id'))
    )
    _create_immutability_triggers()


def downgrade():
    _drop_immutability_triggers()
    op.drop_table('billing_payments')
    with op.batch_alter_table('billing_invoice_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_invoice_lines_invoice_id'))

    op.drop_table('billing_invoice_lines')
    with op.batch_alter_table('billing_invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_invoices_subscription_id'))
        batch_op.drop_index('ix_billing_invoices_issued_at')

    op.drop_table('billing_invoices')
    with op.batch_alter_table('billing_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_billing_subscriptions_status')

    op.drop_table('billing_subscriptions')
    op.drop_table('billing_stripe_events')
    op.drop_table('billing_plans')
    op.drop_table('billing_invoice_counters')
