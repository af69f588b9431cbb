"""Notebook: the digest's measurement series stored as columns (rebuilt on first read).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23 17:40:00.000000

"""
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


# The digest is derived from the entries: rows of the other shape are dropped, readers rebuild them.
def upgrade():
    op.execute("DELETE FROM notebook_digests")


def downgrade():
    op.execute("DELETE FROM notebook_digests")
