"""Phones of patients created at the desk, kept in E.164 like the others.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 19:40:00.000000

The desk kept them as typed ("06 12 34 56 78"), which SMS reminders could
not reach. Each one that is a valid number is rewritten in E.164; any other
is left as typed, for the desk to correct.
"""
import sqlalchemy as sa
from alembic import op

from webapp.accounts.phones import normalised_phone

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

patients = sa.table('patient_profiles', sa.column('id', sa.Integer), sa.column('phone', sa.String))


def upgrade():
    connection = op.get_bind()
    typed = connection.execute(sa.select(patients.c.id, patients.c.phone).where(
        patients.c.phone.is_not(None), ~patients.c.phone.startswith('+'))).all()
    for patient_id, phone in typed:
        if (e164 := normalised_phone(phone)) is not None:
            connection.execute(patients.update().where(patients.c.id == patient_id).values(phone=e164))


def downgrade():
    pass  # the E.164 form is what every other profile keeps
