"""Booking: when a visit begins (patient arrived, walk-ins), the notebook shared at booking, failed desk identifications.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    # Existing appointments: nobody arrived through the desk yet, no walk-in, nothing shared ahead.
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('is_walk_in', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('shares_notebook_ahead', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))

    op.create_table(
        'desk_identity_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_desk_identity_failures_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_identity_failures')),
    )
    with op.batch_alter_table('desk_identity_failures', schema=None) as batch_op:
        batch_op.create_index('ix_desk_identity_failures_user_failed_at', ['user_id', 'failed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('desk_identity_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_desk_identity_failures_user_failed_at')
    op.drop_table('desk_identity_failures')

    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_column('shares_notebook_ahead')
        batch_op.drop_column('is_walk_in')
        batch_op.drop_column('arrived_at')
