"""Notebook: entries, attachments, masks, revocations, emergency access, access log.

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-23 07:59:31.398671

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notebook_emergency_accesses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.LargeBinary(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('granted_at < expires_at', name=op.f('ck_notebook_emergency_accesses_period')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_notebook_emergency_accesses_patient_id_patient_profiles')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_notebook_emergency_accesses_practitioner_id_practitioner_profiles')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notebook_emergency_accesses_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notebook_emergency_accesses'))
    )
    with op.batch_alter_table('notebook_emergency_accesses', schema=None) as batch_op:
        batch_op.create_index('ix_notebook_emergency_accesses_lookup', ['patient_id', 'practitioner_id', 'expires_at'], unique=False)

    op.create_table('notebook_revocations',
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_notebook_revocations_patient_id_patient_profiles')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_notebook_revocations_practitioner_id_practitioner_profiles')),
    sa.PrimaryKeyConstraint('patient_id', 'practitioner_id', name=op.f('pk_notebook_revocations'))
    )
    op.create_table('notebook_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('note', 'report', 'prescription', 'exam_result', 'measurement', 'vaccination', 'allergy', 'treatment', 'document', name='entrykind', native_enum=False, length=30), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('author_user_id', sa.Integer(), nullable=False),
    sa.Column('author_role', sa.Enum('patient', 'practitioner', 'staff', 'admin', name='role', native_enum=False, length=30), nullable=False),
    sa.Column('author_practitioner_id', sa.Integer(), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_notebook_entries_appointment_id_appointments')),
    sa.ForeignKeyConstraint(['author_practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_notebook_entries_author_practitioner_id_practitioner_profiles')),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], name=op.f('fk_notebook_entries_author_user_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_notebook_entries_patient_id_patient_profiles')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['notebook_entries.id'], name=op.f('fk_notebook_entries_supersedes_id_notebook_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notebook_entries')),
    sa.UniqueConstraint('supersedes_id', name=op.f('uq_notebook_entries_supersedes_id'))
    )
    with op.batch_alter_table('notebook_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notebook_entries_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_index('ix_notebook_entries_patient_created', ['patient_id', 'created_at'], unique=False)
        batch_op.create_index('ix_notebook_entries_patient_kind', ['patient_id', 'kind'], unique=False)

    op.create_table('notebook_access_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=False),
    sa.Column('actor_role', sa.Enum('patient', 'practitioner', 'staff', 'admin', name='role', native_enum=False, length=30), nullable=False),
    sa.Column('action', sa.Enum('view_notebook', 'view_entry', 'view_attachment', 'view_measurements', 'add_entry', 'supersede_entry', 'add_attachment', 'emergency_access', name='accessaction', native_enum=False, length=30), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('emergency', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_notebook_access_log_actor_user_id_users')),
    sa.ForeignKeyConstraint(['entry_id'], ['notebook_entries.id'], name=op.f('fk_notebook_access_log_entry_id_notebook_entries')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_notebook_access_log_patient_id_patient_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notebook_access_log'))
    )
    with op.batch_alter_table('notebook_access_log', schema=None) as batch_op:
        batch_op.create_index('ix_notebook_access_log_patient_at', ['patient_id', 'at'], unique=False)

    op.create_table('notebook_attachments',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=50), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('filename', sa.LargeBinary(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('author_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_user_id'], ['users.id'], name=op.f('fk_notebook_attachments_author_user_id_users')),
    sa.ForeignKeyConstraint(['entry_id'], ['notebook_entries.id'], name=op.f('fk_notebook_attachments_entry_id_notebook_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notebook_attachments'))
    )
    with op.batch_alter_table('notebook_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notebook_attachments_entry_id'), ['entry_id'], unique=False)

    op.create_table('notebook_entry_masks',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['notebook_entries.id'], name=op.f('fk_notebook_entry_masks_entry_id_notebook_entries')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_notebook_entry_masks_practitioner_id_practitioner_profiles')),
    sa.PrimaryKeyConstraint('entry_id', 'practitioner_id', name=op.f('pk_notebook_entry_masks'))
    )


def downgrade():
    op.drop_table('notebook_entry_masks')
    with op.batch_alter_table('notebook_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notebook_attachments_entry_id'))

    op.drop_table('notebook_attachments')
    with op.batch_alter_table('notebook_access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_notebook_access_log_patient_at')

    op.drop_table('notebook_access_log')
    with op.batch_alter_table('notebook_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_notebook_entries_patient_kind')
        batch_op.drop_index('ix_notebook_entries_patient_created')
        batch_op.drop_index(batch_op.f('ix_notebook_entries_appointment_id'))

    op.drop_table('notebook_entries')
    op.drop_table('notebook_revocations')
    with op.batch_alter_table('notebook_emergency_accesses', schema=None) as batch_op:
        batch_op.drop_index('ix_notebook_emergency_accesses_lookup')

    op.drop_table('notebook_emergency_accesses')
