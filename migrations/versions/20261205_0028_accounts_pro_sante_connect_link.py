"""Accounts: when a practitioner account was linked to Pro Santé Connect.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('practitioner_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pro_sante_connect_linked_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('practitioner_profiles', schema=None) as batch_op:
        batch_op.drop_column('pro_sante_connect_linked_at')
