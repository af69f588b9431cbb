"""Accounts: an optional administrative sex on patient profiles (exported as FHIR gender).

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05 18:00:00.000000

Existing profiles keep no sex: nothing is derived from names.
"""
from alembic import op
import sqlalchemy as sa


revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sex', sa.Enum('female', 'male', 'other', 'unknown', name='sex',
                                                     native_enum=False, length=30), nullable=True))


def downgrade():
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.drop_column('sex')
