"""Notebook: the digest split in parts, so that a view decrypts only what it shows (rebuilt on first read).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 16:58:16.171099

"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


# The digest is derived from the entries: the old rows are dropped, readers rebuild it.
def upgrade():
    op.drop_table('notebook_digests')
    op.create_table('notebook_digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.String(length=40), nullable=False),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_notebook_digests_patient_id_patient_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notebook_digests')),
    sa.UniqueConstraint('patient_id', 'part', name=op.f('uq_notebook_digests_patient_id'))
    )


def downgrade():
    op.drop_table('notebook_digests')
    op.create_table('notebook_digests',
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_notebook_digests_patient_id_patient_profiles')),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_notebook_digests'))
    )
