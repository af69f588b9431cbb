"""Shared-record connector: patient identities (INS), consent history, document push outbox.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-23 09:05:01.639229

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dmp_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_dmp_consents_actor_user_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_dmp_consents_patient_id_patient_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dmp_consents'))
    )
    with op.batch_alter_table('dmp_consents', schema=None) as batch_op:
        batch_op.create_index('ix_dmp_consents_patient_id_id', ['patient_id', 'id'], unique=False)

    op.create_table('dmp_patient_identities',
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('nir', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.Enum('provisional', 'qualified', name='identitystatus', native_enum=False, length=30), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_dmp_patient_identities_patient_id_patient_profiles')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_dmp_patient_identities_recorded_by_user_id_users')),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_dmp_patient_identities'))
    )
    op.create_table('dmp_document_pushes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.String(length=64), nullable=False),
    sa.Column('replaces_document_id', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', 'cancelled', name='pushstatus', native_enum=False, length=30), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('outcome', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_dmp_document_pushes_attempts_not_negative')),
    sa.ForeignKeyConstraint(['entry_id'], ['notebook_entries.id'], name=op.f('fk_dmp_document_pushes_entry_id_notebook_entries')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_dmp_document_pushes_patient_id_patient_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dmp_document_pushes')),
    sa.UniqueConstraint('document_id', name=op.f('uq_dmp_document_pushes_document_id')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_dmp_document_pushes_entry_id'))
    )
    with op.batch_alter_table('dmp_document_pushes', schema=None) as batch_op:
        batch_op.create_index('ix_dmp_document_pushes_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dmp_document_pushes_patient_id'), ['patient_id'], unique=False)



def downgrade():
    with op.batch_alter_table('dmp_document_pushes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dmp_document_pushes_patient_id'))
        batch_op.drop_index('ix_dmp_document_pushes_due')

    op.drop_table('dmp_document_pushes')
    op.drop_table('dmp_patient_identities')
    with op.batch_alter_table('dmp_consents', schema=None) as batch_op:
        batch_op.drop_index('ix_dmp_consents_patient_id_id')

    op.drop_table('dmp_consents')
