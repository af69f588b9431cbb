"""Invitations: a proxy may invite the profile it acts for (no practitioner then).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patient_invitations', schema=None) as batch_op:
        batch_op.alter_column('practitioner_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    # Invitations sent by proxies name no practice: they cannot be kept under the old rule.
    op.execute("DELETE FROM patient_invitations WHERE practitioner_id IS NULL")
    with op.batch_alter_table('patient_invitations', schema=None) as batch_op:
        batch_op.alter_column('practitioner_id', existing_type=sa.Integer(), nullable=False)
