"""Accounts: the agenda at whose desk a patient profile was created; patient profiles indexed by birth date.

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-23 16:54:30.969983

"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('desk_practitioner_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_patient_profiles_birth_date'), ['birth_date'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_patient_profiles_desk_practitioner_id_practitioner_profiles'),
                                    'practitioner_profiles', ['desk_practitioner_id'], ['id'])


def downgrade():
    with op.batch_alter_table('patient_profiles', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_patient_profiles_desk_practitioner_id_practitioner_profiles'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_patient_profiles_birth_date'))
        batch_op.drop_column('desk_practitioner_id')
