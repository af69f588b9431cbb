"""Accounts: the time step of the last TOTP code accepted (a code opens one action);
notebook: the patient side's settings (emergency access locked), and grants indexed
by practitioner and time (the daily limit of emergency accesses).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))

    op.create_table('notebook_settings',
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('emergency_access_locked', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_notebook_settings_patient_id_patient_profiles')),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_notebook_settings'))
    )

    with op.batch_alter_table('notebook_emergency_accesses', schema=None) as batch_op:
        batch_op.create_index('ix_notebook_emergency_accesses_practitioner_granted', ['practitioner_id', 'granted_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('notebook_emergency_accesses', schema=None) as batch_op:
        batch_op.drop_index('ix_notebook_emergency_accesses_practitioner_granted')

    op.drop_table('notebook_settings')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
