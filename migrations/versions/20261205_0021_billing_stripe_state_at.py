"""Billing: when Stripe created the newest event applied to a subscription, so late events change nothing.

Revision ID: 0021
Revises: 0017
Create Date: 2026-12-05 10:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('billing_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_state_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('billing_subscriptions', schema=None) as batch_op:
        batch_op.drop_column('stripe_state_at')
