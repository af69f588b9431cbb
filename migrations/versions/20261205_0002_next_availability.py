"""The stored next availability of each practitioner (webapp.booking.next_availability).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 15:30:00.000000

The table starts empty: search treats a practitioner without a row as
"anything from now on" and verifies them, and the job
`booking.refresh_next_availability` writes the missing rows within minutes.
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'next_availabilities',
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('next_start_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('stale_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'],
                                name=op.f('fk_next_availabilities_practitioner_id_practitioner_profiles'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('practitioner_id', name=op.f('pk_next_availabilities')),
    )
    op.create_index('ix_next_availabilities_stale_at', 'next_availabilities', ['stale_at'], unique=False)


def downgrade():
    op.drop_index('ix_next_availabilities_stale_at', table_name='next_availabilities')
    op.drop_table('next_availabilities')
