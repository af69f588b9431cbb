"""Accounts: verification of practitioners, and the imported public RPPS directory.

Existing practitioners become `pending`: every one of them came through the
open sign-up, where the RPPS check digit proved nothing about who typed it,
so the back office (or a Pro Santé Connect login) has to verify them before
they are listed again. `flask seed-demo` marks the demo practitioners
verified itself.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

VERIFICATION = sa.Enum('pending', 'verified', 'rejected', name='verification', native_enum=False, length=30)
METHOD = sa.Enum('document', 'directory', 'pro_sante_connect', name='verificationmethod', native_enum=False,
                 length=30)


def upgrade():
    with op.batch_alter_table('practitioner_profiles', schema=None) as batch_op:
        # The default only fills the existing rows; the application always sets the value.
        batch_op.add_column(sa.Column('verification', VERIFICATION, nullable=False, server_default='pending'))
        batch_op.add_column(sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('verification_method', METHOD, nullable=True))
        batch_op.add_column(sa.Column('verification_note', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rejection_reason', sa.String(length=1000), nullable=True))
        batch_op.create_index(batch_op.f('ix_practitioner_profiles_verification'), ['verification'], unique=False)
    with op.batch_alter_table('practitioner_profiles', schema=None) as batch_op:
        batch_op.alter_column('verification', server_default=None)

    op.create_table(
        'directory_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rpps', sa.String(length=11), nullable=False),
        sa.Column('title_code', sa.String(length=10), nullable=False),
        sa.Column('last_name', sa.String(length=100), nullable=False),
        sa.Column('first_name', sa.String(length=100), nullable=False),
        sa.Column('profession_code', sa.String(length=10), nullable=False),
        sa.Column('profession_label', sa.String(length=100), nullable=False),
        sa.Column('category_code', sa.String(length=10), nullable=False),
        sa.Column('specialty_code', sa.String(length=20), nullable=False),
        sa.Column('specialty_label', sa.String(length=200), nullable=False),
        sa.Column('practice_mode_code', sa.String(length=10), nullable=False),
        sa.Column('organisation', sa.String(length=200), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=False),
        sa.Column('postcode', sa.String(length=10), nullable=False),
        sa.Column('city', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_entries')),
    )
    with op.batch_alter_table('directory_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_directory_entries_rpps'), ['rpps'], unique=False)

    op.create_table(
        'directory_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('line_count', sa.Integer(), nullable=False),
        sa.Column('entry_count', sa.Integer(), nullable=False),
        sa.Column('person_count', sa.Integer(), nullable=False),
        sa.Column('skipped_count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_imports')),
    )


def downgrade():
    op.drop_table('directory_imports')
    with op.batch_alter_table('directory_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_directory_entries_rpps'))
    op.drop_table('directory_entries')
    with op.batch_alter_table('practitioner_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practitioner_profiles_verification'))
        batch_op.drop_column('rejection_reason')
        batch_op.drop_column('rejected_at')
        batch_op.drop_column('verification_note')
        batch_op.drop_column('verified_at')
        batch_op.drop_column('verification_method')
        batch_op.drop_column('verification')
