"""Invitations: the links sent to patients created at the desk to claim their profile.

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-23 11:58:50.138962

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('patient_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['users.id'], name=op.f('fk_patient_invitations_claimed_by_id_users')),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_patient_invitations_invited_by_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_patient_invitations_patient_id_patient_profiles')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_patient_invitations_practitioner_id_practitioner_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_invitations'))
    )
    with op.batch_alter_table('patient_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_invitations_patient_id'), ['patient_id'], unique=False)



def downgrade():
    with op.batch_alter_table('patient_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_invitations_patient_id'))

    op.drop_table('patient_invitations')
