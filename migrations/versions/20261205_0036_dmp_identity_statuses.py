"""Shared record: the four RNIV identity statuses (provisional, recovered, validated, qualified).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-05 20:00:00.000000

Until now "qualified" meant only that staff looked at an identity document:
no INSi teleservice answer confirmed the number. Under the national identity
rules (RNIV / Référentiel INS) that is a *validated* identity, so existing
`qualified` rows become `validated` and are no longer sent to a shared record
until INSi confirms them. The column is a non-native enum (VARCHAR(30), no
CHECK constraint): the new values need no schema change.

The downgrade maps `validated` and `recovered` back to `provisional`, never to
`qualified`: an unverified identity must not become sendable.
"""
from alembic import op
import sqlalchemy as sa


revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

identities = sa.table('dmp_patient_identities', sa.column('status', sa.String(30)))


def upgrade():
    op.execute(identities.update().where(identities.c.status == 'qualified').values(status='validated'))


def downgrade():
    op.execute(identities.update().where(identities.c.status.in_(['validated', 'recovered']))
               .values(status='provisional'))
