"""Notebook: masks cover every version of a corrected entry (each version gets the union of the chain's masks).

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-05 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    connection = op.get_bind()
    newer_of = dict(connection.execute(sa.text(
        "SELECT supersedes_id, id FROM notebook_entries WHERE supersedes_id IS NOT NULL")).all())
    if not newer_of:
        return
    masks: dict[int, set[int]] = {}
    for entry_id, practitioner_id in connection.execute(sa.text(
            "SELECT entry_id, practitioner_id FROM notebook_entry_masks")):
        masks.setdefault(entry_id, set()).add(practitioner_id)
    corrections = set(newer_of.values())
    for first in set(newer_of) - corrections:  # the first version of each chain
        chain = [first]
        while chain[-1] in newer_of:
            chain.append(newer_of[chain[-1]])
        union = set().union(*(masks.get(entry_id, set()) for entry_id in chain))
        for entry_id in chain:
            for practitioner_id in sorted(union - masks.get(entry_id, set())):
                connection.execute(sa.text(
                    "INSERT INTO notebook_entry_masks (entry_id, practitioner_id, created_at) "
                    "VALUES (:entry_id, :practitioner_id, CURRENT_TIMESTAMP)"),
                    {"entry_id": entry_id, "practitioner_id": practitioner_id})


def downgrade():
    """The added masks stay: removing them would show hidden entries again."""
