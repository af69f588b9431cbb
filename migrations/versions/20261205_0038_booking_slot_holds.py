"""Booking: slot holds, which occupy cells exactly like appointments.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-05 12:40:00.000000

An occupied cell now belongs to an appointment or to a hold (exactly one),
so the primary key that already keeps two appointments apart keeps a hold
and a booking apart too.
"""
from alembic import op
import sqlalchemy as sa


revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('slot_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('visit_reason_id', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('holder_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('start_at < end_at', name=op.f('ck_slot_holds_range')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_slot_holds_practitioner_id_practitioner_profiles')),
    sa.ForeignKeyConstraint(['visit_reason_id'], ['visit_reasons.id'], name=op.f('fk_slot_holds_visit_reason_id_visit_reasons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slot_holds'))
    )
    with op.batch_alter_table('slot_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slot_holds_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_slot_holds_holder_key', ['holder_key'], unique=False)
        batch_op.create_index('ix_slot_holds_practitioner_start', ['practitioner_id', 'start_at'], unique=False)

    with op.batch_alter_table('occupied_cells', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hold_id', sa.Integer(), nullable=True))
        batch_op.alter_column('appointment_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_occupied_cells_hold_id'), ['hold_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_occupied_cells_hold_id_slot_holds'), 'slot_holds', ['hold_id'], ['id'], ondelete='CASCADE')
        batch_op.create_check_constraint('one_owner', '(appointment_id IS NULL) <> (hold_id IS NULL)')


def downgrade():
    op.execute("DELETE FROM occupied_cells WHERE hold_id IS NOT NULL")
    with op.batch_alter_table('occupied_cells', schema=None) as batch_op:
        batch_op.drop_constraint('ck_occupied_cells_one_owner', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_occupied_cells_hold_id_slot_holds'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_occupied_cells_hold_id'))
        batch_op.alter_column('appointment_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('hold_id')

    with op.batch_alter_table('slot_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_slot_holds_practitioner_start')
        batch_op.drop_index('ix_slot_holds_holder_key')
        batch_op.drop_index(batch_op.f('ix_slot_holds_expires_at'))

    op.drop_table('slot_holds')
