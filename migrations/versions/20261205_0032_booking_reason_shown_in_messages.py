"""Booking: visit reasons shown in messages only when the practitioner says so; patient names in the feed on request.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 16:00:00.000000

Existing reasons and agendas take the safe default: the reason stays out of
mails, SMS and calendar files, and the feed shows initials.
"""
from alembic import op
import sqlalchemy as sa


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visit_reasons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shown_in_messages', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('practitioner_schedules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_shows_patient_names', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('practitioner_schedules', schema=None) as batch_op:
        batch_op.drop_column('feed_shows_patient_names')
    with op.batch_alter_table('visit_reasons', schema=None) as batch_op:
        batch_op.drop_column('shown_in_messages')
