"""The first free starts kept with each practitioner's next availability.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 18:40:00.000000

Rows written before have no starts: their next booking computes them.
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('next_availabilities') as batch_op:
        batch_op.add_column(sa.Column('free_starts', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table('next_availabilities') as batch_op:
        batch_op.drop_column('free_starts')
