"""Booking: visit reasons, schedules, absences, appointments with occupied cells, waiting list, calendar feeds.

Revision ID: 0002
Revises: 0006
Create Date: 2026-11-23 07:41:18.750059

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('absences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('start_at < end_at', name=op.f('ck_absences_range')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_absences_practitioner_id_practitioner_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_absences'))
    )
    with op.batch_alter_table('absences', schema=None) as batch_op:
        batch_op.create_index('ix_absences_practitioner_end', ['practitioner_id', 'end_at'], unique=False)

    op.create_table('calendar_feeds',
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_calendar_feeds_practitioner_id_practitioner_profiles')),
    sa.PrimaryKeyConstraint('practitioner_id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )
    op.create_table('practitioner_schedules',
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('min_notice_minutes', sa.Integer(), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('buffer_minutes', sa.Integer(), nullable=False),
    sa.Column('cancellation_deadline_hours', sa.Integer(), nullable=False),
    sa.Column('closed_on_public_holidays', sa.Boolean(), nullable=False),
    sa.Column('slot_step_minutes', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('buffer_minutes >= 0', name=op.f('ck_practitioner_schedules_buffer')),
    sa.CheckConstraint('cancellation_deadline_hours >= 0', name=op.f('ck_practitioner_schedules_cancellation_deadline')),
    sa.CheckConstraint('horizon_days >= 1 AND horizon_days <= 365', name=op.f('ck_practitioner_schedules_horizon')),
    sa.CheckConstraint('min_notice_minutes >= 0', name=op.f('ck_practitioner_schedules_min_notice')),
    sa.CheckConstraint('slot_step_minutes IS NULL OR (slot_step_minutes > 0 AND slot_step_minutes % 5 = 0)', name=op.f('ck_practitioner_schedules_slot_step')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_practitioner_schedules_practitioner_id_practitioner_profiles')),
    sa.PrimaryKeyConstraint('practitioner_id', name=op.f('pk_practitioner_schedules'))
    )
    op.create_table('visit_reasons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('new_patients', sa.Boolean(), nullable=False),
    sa.Column('returning_patients', sa.Boolean(), nullable=False),
    sa.Column('mode', sa.Enum('in_person', 'video', name='visitmode', native_enum=False, length=30), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('duration_minutes > 0 AND duration_minutes <= 480 AND duration_minutes % 5 = 0', name=op.f('ck_visit_reasons_duration')),
    sa.CheckConstraint('new_patients OR returning_patients', name=op.f('ck_visit_reasons_someone_may_book')),
    sa.CheckConstraint('price_cents >= 0', name=op.f('ck_visit_reasons_price')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_visit_reasons_practitioner_id_practitioner_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_reasons'))
    )
    with op.batch_alter_table('visit_reasons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_reasons_practitioner_id'), ['practitioner_id'], unique=False)

    op.create_table('weekly_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.CheckConstraint('start_time < end_time', name=op.f('ck_weekly_hours_range')),
    sa.CheckConstraint('weekday >= 0 AND weekday <= 6', name=op.f('ck_weekly_hours_weekday')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_weekly_hours_practitioner_id_practitioner_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weekly_hours'))
    )
    with op.batch_alter_table('weekly_hours', schema=None) as batch_op:
        batch_op.create_index('ix_weekly_hours_practitioner_weekday', ['practitioner_id', 'weekday'], unique=False)

    op.create_table('appointments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('visit_reason_id', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('booked', 'completed', 'cancelled', 'no_show', name='appointmentstatus', native_enum=False, length=30), nullable=False),
    sa.Column('message', sa.String(length=1000), nullable=True),
    sa.Column('booked_by_user_id', sa.Integer(), nullable=True),
    sa.Column('booked_at_desk', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by_user_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('rescheduled_count', sa.Integer(), nullable=False),
    sa.CheckConstraint('start_at < end_at', name=op.f('ck_appointments_range')),
    sa.ForeignKeyConstraint(['booked_by_user_id'], ['users.id'], name=op.f('fk_appointments_booked_by_user_id_users')),
    sa.ForeignKeyConstraint(['cancelled_by_user_id'], ['users.id'], name=op.f('fk_appointments_cancelled_by_user_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_appointments_patient_id_patient_profiles')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_appointments_practitioner_id_practitioner_profiles')),
    sa.ForeignKeyConstraint(['visit_reason_id'], ['visit_reasons.id'], name=op.f('fk_appointments_visit_reason_id_visit_reasons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments'))
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index('ix_appointments_patient_start', ['patient_id', 'start_at'], unique=False)
        batch_op.create_index('ix_appointments_practitioner_start', ['practitioner_id', 'start_at'], unique=False)

    op.create_table('waitlist_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('visit_reason_id', sa.Integer(), nullable=False),
    sa.Column('before_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('waiting', 'offered', 'closed', name='waitliststatus', native_enum=False, length=30), nullable=False),
    sa.Column('offered_start_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_waitlist_entries_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_waitlist_entries_patient_id_patient_profiles')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_waitlist_entries_practitioner_id_practitioner_profiles')),
    sa.ForeignKeyConstraint(['visit_reason_id'], ['visit_reasons.id'], name=op.f('fk_waitlist_entries_visit_reason_id_visit_reasons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entries'))
    )
    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_entries_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('ix_waitlist_entries_practitioner_status', ['practitioner_id', 'status', 'created_at'], unique=False)

    op.create_table('occupied_cells',
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('cell_start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_occupied_cells_appointment_id_appointments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_occupied_cells_practitioner_id_practitioner_profiles')),
    sa.PrimaryKeyConstraint('practitioner_id', 'cell_start_at', name=op.f('pk_occupied_cells'))
    )
    with op.batch_alter_table('occupied_cells', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_occupied_cells_appointment_id'), ['appointment_id'], unique=False)



def downgrade():
    with op.batch_alter_table('occupied_cells', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_occupied_cells_appointment_id'))

    op.drop_table('occupied_cells')
    with op.batch_alter_table('waitlist_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_entries_practitioner_status')
        batch_op.drop_index(batch_op.f('ix_waitlist_entries_patient_id'))

    op.drop_table('waitlist_entries')
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_appointments_practitioner_start')
        batch_op.drop_index('ix_appointments_patient_start')

    op.drop_table('appointments')
    with op.batch_alter_table('weekly_hours', schema=None) as batch_op:
        batch_op.drop_index('ix_weekly_hours_practitioner_weekday')

    op.drop_table('weekly_hours')
    with op.batch_alter_table('visit_reasons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_reasons_practitioner_id'))

    op.drop_table('visit_reasons')
    op.drop_table('practitioner_schedules')
    op.drop_table('calendar_feeds')
    with op.batch_alter_table('absences', schema=None) as batch_op:
        batch_op.drop_index('ix_absences_practitioner_end')

    op.drop_table('absences')
