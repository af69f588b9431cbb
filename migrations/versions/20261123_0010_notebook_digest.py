"""Notebook: the encrypted digest of each notebook's current structured entries (built on first read).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 11:20:27.002866

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notebook_digests',
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_notebook_digests_patient_id_patient_profiles')),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_notebook_digests'))
    )


def downgrade():
    op.drop_table('notebook_digests')
