"""Booking: the iCalendar SEQUENCE of each appointment, raised at each move or cancellation.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 17:00:00.000000

Existing appointments start from the revision their calendar files already
carried (one per move, one more once cancelled), so a calendar that holds
one of them still accepts the next update.
"""
from alembic import op
import sqlalchemy as sa


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ics_sequence', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE appointments SET ics_sequence = rescheduled_count"
               " + CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END")


def downgrade():
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_column('ics_sequence')
