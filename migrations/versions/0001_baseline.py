"""Baseline: the whole schema of the first release, built from empty.

Revision ID: 0001
Revises:
Create Date: 2026-12-05 13:30:00.000000

Nothing was released before this revision, so it replaces the 29 revisions
(0001 to 0038) that grew the schema during development: it creates every
table in its final form, feature by feature, and the hand-written DDL the
models cannot express (the `_guards` helpers):

- SQLite: issued invoices and their lines refuse UPDATE (triggers); an
  invoice's document is written once. Deletes and the notebook's append-only
  rule are the ORM guards' job there (webapp.billing.models,
  webapp.notebook.guards).
- PostgreSQL: issued invoices and their lines refuse UPDATE, DELETE and
  TRUNCATE (but the one write of a missing document); the audit trail is
  append-only and its chain head only moves forward; the notebook's tables
  are append-only but for re-encryption by the tables' owner.

Two appointments, or an appointment and a slot hold, never share a cell of
an agenda: that is `occupied_cells`' primary key, on both databases.

Every later schema change is one revision of its own, chained on the head.
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    _create_accounts()
    _create_platform()
    _create_notifications()
    _create_audit()
    _create_audit_guards()
    _create_booking()
    _create_billing()
    _create_billing_guards()
    _create_notebook()
    _create_notebook_guards()
    _create_invitations()
    _create_dmp()


def downgrade():
    _drop_tables(DMP_TABLES)
    _drop_tables(INVITATIONS_TABLES)
    _drop_notebook_guards()
    _drop_tables(NOTEBOOK_TABLES)
    _drop_billing_guards()
    _drop_tables(BILLING_TABLES)
    _drop_tables(BOOKING_TABLES)
    _drop_audit_guards()
    _drop_tables(AUDIT_TABLES)
    _drop_tables(NOTIFICATIONS_TABLES)
    _drop_tables(PLATFORM_TABLES)
    _drop_tables(ACCOUNTS_TABLES)


def _drop_tables(tables: tuple[str, ...]) -> None:
    """Drop a feature's tables, last created first (their indexes go with them)."""
    for table in reversed(tables):
        op.drop_table(table)


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


# --- Accounts: users, clinics, practitioner and patient profiles, proxies, API tokens, browser
# sessions, the RPPS directory.

ACCOUNTS_TABLES = (
    'clinics', 'users', 'practitioner_profiles', 'patient_profiles', 'clinic_members', 'patient_proxies',
    'api_tokens', 'browser_sessions', 'directory_entries', 'directory_imports',
)


def _create_accounts():
    op.create_table(
        'clinics',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('address', sa.String(length=200), nullable=False),
        sa.Column('postcode', sa.String(length=10), nullable=False),
        sa.Column('city', sa.String(length=100), nullable=False),
        sa.Column('siret', sa.String(length=14), nullable=True),
        sa.Column('billing_email', sa.String(length=254), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_clinics'))
    )
    op.create_table(
        'users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('role', sa.Enum('patient', 'practitioner', 'staff', 'admin', name='role', native_enum=False, length=30), nullable=False),
        sa.Column('locale', sa.String(length=5), nullable=True),
        sa.Column('totp_secret', sa.String(length=64), nullable=True),
        sa.Column('totp_enabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('totp_last_step', sa.Integer(), nullable=True),
        sa.Column('is_active_account', sa.Boolean(), nullable=False),
        sa.Column('failed_login_count', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
        sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table(
        'practitioner_profiles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('first_name', sa.String(length=100), nullable=False),
        sa.Column('last_name', sa.String(length=100), nullable=False),
        sa.Column('rpps', sa.String(length=11), nullable=False),
        sa.Column('specialty', sa.String(length=50), nullable=False),
        sa.Column('address', sa.String(length=200), nullable=False),
        sa.Column('postcode', sa.String(length=10), nullable=False),
        sa.Column('city', sa.String(length=100), nullable=False),
        sa.Column('phone', sa.String(length=30), nullable=True),
        sa.Column('clinic_id', sa.Integer(), nullable=True),
        sa.Column('pro_sante_connect_linked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('verification', sa.Enum('pending', 'verified', 'rejected', name='verification', native_enum=False, length=30), nullable=False),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('verification_method', sa.Enum('document', 'directory', 'pro_sante_connect', name='verificationmethod', native_enum=False, length=30), nullable=True),
        sa.Column('verification_note', sa.String(length=500), nullable=True),
        sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('rejection_reason', sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_practitioner_profiles_clinic_id_clinics')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_practitioner_profiles_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_practitioner_profiles')),
        sa.UniqueConstraint('rpps', name=op.f('uq_practitioner_profiles_rpps')),
        sa.UniqueConstraint('user_id', name=op.f('uq_practitioner_profiles_user_id'))
    )
    op.create_index('ix_practitioner_profiles_postcode', 'practitioner_profiles', ['postcode'], unique=False)
    op.create_index('ix_practitioner_profiles_specialty_city', 'practitioner_profiles', ['specialty', 'city'], unique=False)
    op.create_index(op.f('ix_practitioner_profiles_verification'), 'practitioner_profiles', ['verification'], unique=False)
    op.create_table(
        'patient_profiles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('first_name', sa.String(length=100), nullable=False),
        sa.Column('last_name', sa.String(length=100), nullable=False),
        sa.Column('birth_date', sa.Date(), nullable=False),
        sa.Column('sex', sa.Enum('female', 'male', 'other', 'unknown', name='sex', native_enum=False, length=30), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('phone', sa.String(length=30), nullable=True),
        sa.Column('desk_practitioner_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['users.id'], name=op.f('fk_patient_profiles_account_id_users')),
        sa.ForeignKeyConstraint(['desk_practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_patient_profiles_desk_practitioner_id_practitioner_profiles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_profiles')),
        sa.UniqueConstraint('account_id', name=op.f('uq_patient_profiles_account_id'))
    )
    op.create_index(op.f('ix_patient_profiles_birth_date'), 'patient_profiles', ['birth_date'], unique=False)
    op.create_table(
        'clinic_members',
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('clinic_role', sa.Enum('practitioner', 'secretary', 'accountant', name='clinicrole', native_enum=False, length=30), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_clinic_members_clinic_id_clinics')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_clinic_members_user_id_users')),
        sa.PrimaryKeyConstraint('clinic_id', 'user_id', name=op.f('pk_clinic_members'))
    )
    op.create_table(
        'patient_proxies',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_patient_proxies_patient_id_patient_profiles')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_patient_proxies_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', 'patient_id', name=op.f('pk_patient_proxies'))
    )
    op.create_index(op.f('ix_patient_proxies_patient_id'), 'patient_proxies', ['patient_id'], unique=False)
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_table(
        'browser_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_browser_sessions_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_browser_sessions'))
    )
    op.create_index(op.f('ix_browser_sessions_created_at'), 'browser_sessions', ['created_at'], unique=False)
    op.create_index(op.f('ix_browser_sessions_user_id'), 'browser_sessions', ['user_id'], unique=False)
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
        sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_entries'))
    )
    op.create_index(op.f('ix_directory_entries_rpps'), 'directory_entries', ['rpps'], unique=False)
    op.create_table(
        'directory_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('line_count', sa.Integer(), nullable=False),
        sa.Column('entry_count', sa.Integer(), nullable=False),
        sa.Column('person_count', sa.Integer(), nullable=False),
        sa.Column('skipped_count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_imports'))
    )


# --- Platform: the scheduler's job runs and the API's idempotency keys.

PLATFORM_TABLES = ('job_runs', 'idempotency_keys')


def _create_platform():
    op.create_table(
        'job_runs',
        sa.Column('job_id', sa.String(length=100), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint('job_id', 'due_at', name=op.f('pk_job_runs'))
    )
    op.create_table(
        'idempotency_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('response_status', sa.Integer(), nullable=True),
        sa.Column('response_body', sa.Text(), nullable=True),
        sa.Column('response_mimetype', sa.String(length=100), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotency_keys_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
        sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_keys_user_id_key')
    )
    op.create_index(op.f('ix_idempotency_keys_expires_at'), 'idempotency_keys', ['expires_at'], unique=False)


# --- Notifications: the outbox of emails and texts, and each account's choices.

NOTIFICATIONS_TABLES = ('notifications', 'notification_preferences', 'notification_preference_changes')


def _create_notifications():
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.Enum('email', 'sms', name='channel', native_enum=False, length=30), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('category', sa.Enum('security', 'appointments', 'reminders', 'waitlist', 'notebook', 'billing', name='category', native_enum=False, length=30), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'failed', 'cancelled', 'expired', 'skipped', name='notificationstatus', native_enum=False, length=30), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('not_after', sa.DateTime(timezone=True), nullable=True),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claim_token', sa.String(length=36), nullable=True),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=1000), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('attempts >= 0', name=op.f('ck_notifications_attempts_not_negative')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint('channel', 'key', name='uq_notifications_channel_key')
    )
    op.create_index('ix_notifications_status_due_at', 'notifications', ['status', 'due_at'], unique=False)
    op.create_index(op.f('ix_notifications_user_id'), 'notifications', ['user_id'], unique=False)
    op.create_table(
        'notification_preferences',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.Enum('security', 'appointments', 'reminders', 'waitlist', 'notebook', 'billing', name='category', native_enum=False, length=30), nullable=False),
        sa.Column('channel', sa.Enum('email', 'sms', name='channel', native_enum=False, length=30), nullable=False),
        sa.Column('is_enabled', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', 'category', 'channel', name=op.f('pk_notification_preferences'))
    )
    op.create_table(
        'notification_preference_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.Enum('security', 'appointments', 'reminders', 'waitlist', 'notebook', 'billing', name='category', native_enum=False, length=30), nullable=False),
        sa.Column('channel', sa.Enum('email', 'sms', name='channel', native_enum=False, length=30), nullable=False),
        sa.Column('is_enabled', sa.Boolean(), nullable=False),
        sa.Column('changed_by_id', sa.Integer(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_notification_preference_changes_changed_by_id_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preference_changes_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preference_changes'))
    )
    op.create_index(op.f('ix_notification_preference_changes_user_id'), 'notification_preference_changes', ['user_id'], unique=False)


# --- Audit: the hash-chained audit trail and its chain head.

AUDIT_TABLES = ('audit_chain_heads', 'audit_events')


def _create_audit():
    op.create_table(
        'audit_chain_heads',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_event_id', sa.Integer(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_audit_chain_heads_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_heads')),
        info={'append_only': True}
    )
    op.create_table(
        'audit_events',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_role', sa.String(length=30), nullable=True),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('target_type', sa.String(length=40), nullable=True),
        sa.Column('target_id', sa.String(length=64), nullable=True),
        sa.Column('ip', sa.String(length=45), nullable=True),
        sa.Column('user_agent', sa.String(length=255), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
        sa.UniqueConstraint('hash', name=op.f('uq_audit_events_hash')),
        info={'append_only': True}
    )
    op.create_index('ix_audit_events_action', 'audit_events', ['action'], unique=False)
    op.create_index('ix_audit_events_actor_id_occurred_at', 'audit_events', ['actor_id', 'occurred_at'], unique=False)
    op.create_index('ix_audit_events_target', 'audit_events', ['target_type', 'target_id'], unique=False)


# Audit guards (PostgreSQL): the trail refuses any change to its rows, the
# chain head only moves forward or names the hash of an event that exists,
# and neither table may be truncated. The TRUNCATE function is shared with
# the notebook's tables.

AUDIT_REFUSE_CHANGE = """
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""
AUDIT_HEAD_FORWARD_ONLY = """
CREATE FUNCTION audit_chain_heads_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.last_event_id < OLD.last_event_id
       OR (NEW.last_hash <> OLD.last_hash AND NOT EXISTS (
           SELECT 1 FROM audit_events WHERE id = NEW.last_event_id AND hash = NEW.last_hash)) THEN
        RAISE EXCEPTION 'the audit chain head only moves forward: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
"""
APPEND_ONLY_REFUSE_TRUNCATE = """
CREATE FUNCTION append_only_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _create_audit_guards():
    if not _is_postgresql():
        return
    op.execute(AUDIT_REFUSE_CHANGE)
    op.execute("CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
               "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()")
    op.execute(AUDIT_HEAD_FORWARD_ONLY)
    op.execute("CREATE TRIGGER audit_chain_heads_forward_only BEFORE UPDATE OR DELETE ON audit_chain_heads "
               "FOR EACH ROW EXECUTE FUNCTION audit_chain_heads_forward_only()")
    op.execute(APPEND_ONLY_REFUSE_TRUNCATE)
    for table in AUDIT_TABLES:
        _refuse_truncate(table, "append_only_refuse_truncate")


def _drop_audit_guards():
    if not _is_postgresql():
        return
    for table in AUDIT_TABLES:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
    op.execute("DROP TRIGGER audit_chain_heads_forward_only ON audit_chain_heads")
    op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
    op.execute("DROP FUNCTION append_only_refuse_truncate()")
    op.execute("DROP FUNCTION audit_chain_heads_forward_only()")
    op.execute("DROP FUNCTION audit_events_refuse_change()")


def _refuse_truncate(table: str, function: str) -> None:
    """PostgreSQL: `table` refuses TRUNCATE (row triggers do not see it)."""
    op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
               f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")


# --- Booking: agendas (settings, weekly hours, absences, visit reasons, calendar feeds),
# appointments and slot holds with the cells they occupy, the waiting list.

BOOKING_TABLES = (
    'practitioner_schedules', 'weekly_hours', 'absences', 'visit_reasons', 'calendar_feeds', 'appointments',
    'slot_holds', 'occupied_cells', 'waitlist_entries', 'desk_identity_failures',
)


def _create_booking():
    op.create_table(
        'practitioner_schedules',
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('min_notice_minutes', sa.Integer(), nullable=False),
        sa.Column('horizon_days', sa.Integer(), nullable=False),
        sa.Column('buffer_minutes', sa.Integer(), nullable=False),
        sa.Column('cancellation_deadline_hours', sa.Integer(), nullable=False),
        sa.Column('closed_on_public_holidays', sa.Boolean(), nullable=False),
        sa.Column('slot_step_minutes', sa.Integer(), nullable=True),
        sa.Column('feed_shows_patient_names', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('buffer_minutes >= 0', name=op.f('ck_practitioner_schedules_buffer')),
        sa.CheckConstraint('cancellation_deadline_hours >= 0', name=op.f('ck_practitioner_schedules_cancellation_deadline')),
        sa.CheckConstraint('horizon_days >= 1 AND horizon_days <= 365', name=op.f('ck_practitioner_schedules_horizon')),
        sa.CheckConstraint('min_notice_minutes >= 0', name=op.f('ck_practitioner_schedules_min_notice')),
        sa.CheckConstraint('slot_step_minutes IS NULL OR (slot_step_minutes > 0 AND slot_step_minutes % 5 = 0)', name=op.f('ck_practitioner_schedules_slot_step')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_practitioner_schedules_practitioner_id_practitioner_profiles')),
        sa.PrimaryKeyConstraint('practitioner_id', name=op.f('pk_practitioner_schedules'))
    )
    op.create_table(
        'weekly_hours',
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
    op.create_index('ix_weekly_hours_practitioner_weekday', 'weekly_hours', ['practitioner_id', 'weekday'], unique=False)
    op.create_table(
        'absences',
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
    op.create_index('ix_absences_practitioner_end', 'absences', ['practitioner_id', 'end_at'], unique=False)
    op.create_table(
        'visit_reasons',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=120), nullable=False),
        sa.Column('duration_minutes', sa.Integer(), nullable=False),
        sa.Column('price_cents', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('new_patients', sa.Boolean(), nullable=False),
        sa.Column('returning_patients', sa.Boolean(), nullable=False),
        sa.Column('mode', sa.Enum('in_person', 'video', name='visitmode', native_enum=False, length=30), nullable=False),
        sa.Column('shown_in_messages', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('duration_minutes > 0 AND duration_minutes <= 480 AND duration_minutes % 5 = 0', name=op.f('ck_visit_reasons_duration')),
        sa.CheckConstraint('new_patients OR returning_patients', name=op.f('ck_visit_reasons_someone_may_book')),
        sa.CheckConstraint('price_cents >= 0', name=op.f('ck_visit_reasons_price')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_visit_reasons_practitioner_id_practitioner_profiles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_reasons'))
    )
    op.create_index(op.f('ix_visit_reasons_practitioner_id'), 'visit_reasons', ['practitioner_id'], unique=False)
    op.create_table(
        'calendar_feeds',
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_calendar_feeds_practitioner_id_practitioner_profiles')),
        sa.PrimaryKeyConstraint('practitioner_id', name=op.f('pk_calendar_feeds')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feeds_token_hash'))
    )
    op.create_table(
        'appointments',
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
        sa.Column('ics_sequence', sa.Integer(), server_default='0', nullable=False),
        sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('is_walk_in', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('shares_notebook_ahead', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint('start_at < end_at', name=op.f('ck_appointments_range')),
        sa.ForeignKeyConstraint(['booked_by_user_id'], ['users.id'], name=op.f('fk_appointments_booked_by_user_id_users')),
        sa.ForeignKeyConstraint(['cancelled_by_user_id'], ['users.id'], name=op.f('fk_appointments_cancelled_by_user_id_users')),
        sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_appointments_patient_id_patient_profiles')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_appointments_practitioner_id_practitioner_profiles')),
        sa.ForeignKeyConstraint(['visit_reason_id'], ['visit_reasons.id'], name=op.f('fk_appointments_visit_reason_id_visit_reasons')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments'))
    )
    op.create_index('ix_appointments_patient_start', 'appointments', ['patient_id', 'start_at'], unique=False)
    op.create_index('ix_appointments_practitioner_start', 'appointments', ['practitioner_id', 'start_at'], unique=False)
    op.create_table(
        'slot_holds',
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
    op.create_index(op.f('ix_slot_holds_expires_at'), 'slot_holds', ['expires_at'], unique=False)
    op.create_index('ix_slot_holds_holder_key', 'slot_holds', ['holder_key'], unique=False)
    op.create_index('ix_slot_holds_practitioner_start', 'slot_holds', ['practitioner_id', 'start_at'], unique=False)
    # One row per 5-minute cell an appointment or a hold (exactly one) occupies: the primary key
    # keeps two of them out of the same cell of an agenda, on both databases.
    op.create_table(
        'occupied_cells',
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('cell_start_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('appointment_id', sa.Integer(), nullable=True),
        sa.Column('hold_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('(appointment_id IS NULL) <> (hold_id IS NULL)', name=op.f('ck_occupied_cells_one_owner')),
        sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_occupied_cells_appointment_id_appointments'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['hold_id'], ['slot_holds.id'], name=op.f('fk_occupied_cells_hold_id_slot_holds'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_occupied_cells_practitioner_id_practitioner_profiles')),
        sa.PrimaryKeyConstraint('practitioner_id', 'cell_start_at', name=op.f('pk_occupied_cells'))
    )
    op.create_index(op.f('ix_occupied_cells_appointment_id'), 'occupied_cells', ['appointment_id'], unique=False)
    op.create_index(op.f('ix_occupied_cells_hold_id'), 'occupied_cells', ['hold_id'], unique=False)
    op.create_table(
        'waitlist_entries',
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
    op.create_index(op.f('ix_waitlist_entries_patient_id'), 'waitlist_entries', ['patient_id'], unique=False)
    op.create_index('ix_waitlist_entries_practitioner_status', 'waitlist_entries', ['practitioner_id', 'status', 'created_at'], unique=False)
    op.create_table(
        'desk_identity_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_desk_identity_failures_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_identity_failures'))
    )
    op.create_index('ix_desk_identity_failures_user_failed_at', 'desk_identity_failures', ['user_id', 'failed_at'], unique=False)


# --- Billing: plans, subscriptions and their status history, numbered invoices and their
# lines, payments, Stripe events.

BILLING_TABLES = (
    'billing_plans', 'billing_subscriptions', 'billing_subscription_status_changes',
    'billing_invoice_counters', 'billing_invoices', 'billing_invoice_lines', 'billing_payments',
    'billing_stripe_events',
)


def _create_billing():
    op.create_table(
        'billing_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=30), nullable=False),
        sa.Column('price_cents', sa.Integer(), nullable=False),
        sa.Column('vat_rate_bp', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('interval', sa.String(length=10), nullable=False),
        sa.Column('per_practitioner', sa.Boolean(), nullable=False),
        sa.Column('stripe_price_id', sa.String(length=100), nullable=True),
        sa.CheckConstraint('price_cents >= 0', name=op.f('ck_billing_plans_price_not_negative')),
        sa.CheckConstraint('vat_rate_bp >= 0 AND vat_rate_bp <= 10000', name=op.f('ck_billing_plans_vat_rate_range')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_plans')),
        sa.UniqueConstraint('code', name=op.f('uq_billing_plans_code'))
    )
    op.create_table(
        'billing_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=True),
        sa.Column('clinic_id', sa.Integer(), nullable=True),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('provider', sa.Enum('manual', 'stripe', name='providername', native_enum=False, length=30), nullable=False),
        sa.Column('status', sa.Enum('trialing', 'active', 'past_due', 'suspended', 'cancelled', name='subscriptionstatus', native_enum=False, length=30), nullable=False),
        sa.Column('trial_ends_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('current_period_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('current_period_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('cancel_at_period_end', sa.Boolean(), nullable=False),
        sa.Column('past_due_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('stripe_customer_id', sa.String(length=100), nullable=True),
        sa.Column('stripe_subscription_id', sa.String(length=100), nullable=True),
        sa.Column('stripe_state_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('billing_siret', sa.String(length=14), nullable=True),
        sa.Column('billing_vat_number', sa.String(length=20), nullable=True),
        sa.Column('billing_name', sa.String(length=200), nullable=True),
        sa.Column('billing_street', sa.String(length=200), nullable=True),
        sa.Column('billing_postcode', sa.String(length=10), nullable=True),
        sa.Column('billing_city', sa.String(length=100), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('(practitioner_id IS NULL) <> (clinic_id IS NULL)', name=op.f('ck_billing_subscriptions_one_subscriber')),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_billing_subscriptions_clinic_id_clinics')),
        sa.ForeignKeyConstraint(['plan_id'], ['billing_plans.id'], name=op.f('fk_billing_subscriptions_plan_id_billing_plans')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_billing_subscriptions_practitioner_id_practitioner_profiles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_subscriptions')),
        sa.UniqueConstraint('clinic_id', name=op.f('uq_billing_subscriptions_clinic_id')),
        sa.UniqueConstraint('practitioner_id', name=op.f('uq_billing_subscriptions_practitioner_id')),
        sa.UniqueConstraint('stripe_customer_id', name=op.f('uq_billing_subscriptions_stripe_customer_id')),
        sa.UniqueConstraint('stripe_subscription_id', name=op.f('uq_billing_subscriptions_stripe_subscription_id'))
    )
    op.create_index('ix_billing_subscriptions_status', 'billing_subscriptions', ['status'], unique=False)
    op.create_table(
        'billing_subscription_status_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=False),
        sa.Column('from_status', sa.Enum('trialing', 'active', 'past_due', 'suspended', 'cancelled', name='subscriptionstatus', native_enum=False, length=30), nullable=True),
        sa.Column('to_status', sa.Enum('trialing', 'active', 'past_due', 'suspended', 'cancelled', name='subscriptionstatus', native_enum=False, length=30), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['subscription_id'], ['billing_subscriptions.id'], name=op.f('fk_billing_subscription_status_changes_subscription_id_billing_subscriptions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_subscription_status_changes'))
    )
    op.create_index(op.f('ix_billing_subscription_status_changes_subscription_id'), 'billing_subscription_status_changes', ['subscription_id'], unique=False)
    op.create_table(
        'billing_invoice_counters',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_seq', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('year', name=op.f('pk_billing_invoice_counters'))
    )
    op.create_table(
        'billing_invoices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('invoice', 'credit_note', name='invoicekind', native_enum=False, length=30), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=False),
        sa.Column('credit_of_id', sa.Integer(), nullable=True),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('period_start', sa.DateTime(timezone=True), nullable=True),
        sa.Column('period_end', sa.DateTime(timezone=True), nullable=True),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('total_ht_cents', sa.Integer(), nullable=False),
        sa.Column('vat_cents', sa.Integer(), nullable=False),
        sa.Column('total_ttc_cents', sa.Integer(), nullable=False),
        sa.Column('seller_name', sa.String(length=200), nullable=False),
        sa.Column('seller_address', sa.String(length=300), nullable=False),
        sa.Column('seller_siret', sa.String(length=20), nullable=False),
        sa.Column('seller_vat_number', sa.String(length=20), nullable=False),
        sa.Column('buyer_name', sa.String(length=200), nullable=False),
        sa.Column('buyer_address', sa.String(length=300), nullable=False),
        sa.Column('buyer_identifier', sa.String(length=40), nullable=True),
        sa.Column('buyer_street', sa.String(length=200), nullable=True),
        sa.Column('buyer_postcode', sa.String(length=10), nullable=True),
        sa.Column('buyer_city', sa.String(length=100), nullable=True),
        sa.Column('buyer_country', sa.String(length=2), nullable=True),
        sa.Column('buyer_siret', sa.String(length=14), nullable=True),
        sa.Column('buyer_vat_number', sa.String(length=20), nullable=True),
        sa.Column('reason', sa.String(length=300), nullable=True),
        sa.Column('vat_exemption_code', sa.String(length=30), nullable=True),
        sa.Column('vat_exemption_reason', sa.String(length=200), nullable=True),
        sa.Column('external_id', sa.String(length=100), nullable=True),
        sa.Column('document_pdf', sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("(kind = 'credit_note') = (credit_of_id IS NOT NULL)", name=op.f('ck_billing_invoices_credit_note_reference')),
        sa.CheckConstraint('total_ttc_cents = total_ht_cents + vat_cents', name=op.f('ck_billing_invoices_ttc_is_ht_plus_vat')),
        sa.ForeignKeyConstraint(['credit_of_id'], ['billing_invoices.id'], name=op.f('fk_billing_invoices_credit_of_id_billing_invoices')),
        sa.ForeignKeyConstraint(['subscription_id'], ['billing_subscriptions.id'], name=op.f('fk_billing_invoices_subscription_id_billing_subscriptions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoices')),
        sa.UniqueConstraint('credit_of_id', name=op.f('uq_billing_invoices_credit_of_id')),
        sa.UniqueConstraint('external_id', name=op.f('uq_billing_invoices_external_id')),
        sa.UniqueConstraint('number', name=op.f('uq_billing_invoices_number')),
        sa.UniqueConstraint('subscription_id', 'period_start', name='uq_billing_invoices_subscription_period'),
        sa.UniqueConstraint('year', 'seq', name='uq_billing_invoices_year_seq')
    )
    op.create_index('ix_billing_invoices_issued_at', 'billing_invoices', ['issued_at'], unique=False)
    op.create_index(op.f('ix_billing_invoices_subscription_id'), 'billing_invoices', ['subscription_id'], unique=False)
    op.create_table(
        'billing_invoice_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('description', sa.String(length=300), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('unit_price_ht_cents', sa.Integer(), nullable=False),
        sa.Column('total_ht_cents', sa.Integer(), nullable=False),
        sa.Column('vat_rate_bp', sa.Integer(), nullable=False),
        sa.Column('vat_cents', sa.Integer(), nullable=False),
        sa.Column('total_ttc_cents', sa.Integer(), nullable=False),
        sa.CheckConstraint('total_ttc_cents = total_ht_cents + vat_cents', name=op.f('ck_billing_invoice_lines_line_ttc_is_ht_plus_vat')),
        sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_invoice_lines_invoice_id_billing_invoices')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoice_lines'))
    )
    op.create_index(op.f('ix_billing_invoice_lines_invoice_id'), 'billing_invoice_lines', ['invoice_id'], unique=False)
    op.create_table(
        'billing_payments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.Enum('bank_transfer', 'cheque', 'card', name='paymentmethod', native_enum=False, length=30), nullable=False),
        sa.Column('amount_cents', sa.Integer(), nullable=False),
        sa.Column('paid_on', sa.Date(), nullable=False),
        sa.Column('reference', sa.String(length=100), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['invoice_id'], ['billing_invoices.id'], name=op.f('fk_billing_payments_invoice_id_billing_invoices')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_billing_payments_recorded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_payments')),
        sa.UniqueConstraint('invoice_id', name=op.f('uq_billing_payments_invoice_id'))
    )
    op.create_table(
        'billing_stripe_events',
        sa.Column('id', sa.String(length=255), nullable=False),
        sa.Column('type', sa.String(length=100), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_stripe_events'))
    )


# Billing guards: an issued invoice and its lines never change, whatever the
# client. The one UPDATE let through stores the document (the PDF as issued)
# of an invoice that has none (README "Invoices"); it is written once.
# PostgreSQL also refuses DELETE and TRUNCATE; on SQLite the ORM refuses
# deletes (webapp.billing.models).

# Every column of billing_invoices but the document: SQLite's trigger lists them.
INVOICE_COLUMNS_BUT_DOCUMENT = (
    "id", "number", "year", "seq", "kind", "subscription_id", "credit_of_id", "issued_at", "due_at",
    "period_start", "period_end", "currency", "total_ht_cents", "vat_cents", "total_ttc_cents", "seller_name",
    "seller_address", "seller_siret", "seller_vat_number", "buyer_name", "buyer_address", "buyer_identifier",
    "buyer_street", "buyer_postcode", "buyer_city", "buyer_country", "buyer_siret", "buyer_vat_number", "reason",
    "vat_exemption_code", "vat_exemption_reason", "external_id",
)
IMMUTABLE_BILLING_TABLES = ("billing_invoices", "billing_invoice_lines")
SQLITE_REFUSE = "BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END"

BILLING_REFUSE_CHANGE = """
CREATE FUNCTION billing_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Nested: PL/pgSQL does not short-circuit AND, and lines have no document_pdf.
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'billing_invoices' THEN
        IF OLD.document_pdf IS NULL AND NEW.document_pdf IS NOT NULL
           AND (to_jsonb(NEW) - 'document_pdf') = (to_jsonb(OLD) - 'document_pdf') THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'issued invoices are immutable: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
"""
BILLING_REFUSE_TRUNCATE = """
CREATE FUNCTION billing_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'issued invoices are immutable: TRUNCATE on % refused', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
"""


def _create_billing_guards():
    if _is_postgresql():
        op.execute(BILLING_REFUSE_CHANGE)
        op.execute(BILLING_REFUSE_TRUNCATE)
        for table in IMMUTABLE_BILLING_TABLES:
            op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION billing_refuse_change()")
            _refuse_truncate(table, "billing_refuse_truncate")
        return
    op.execute(f"CREATE TRIGGER billing_invoices_immutable BEFORE UPDATE OF {', '.join(INVOICE_COLUMNS_BUT_DOCUMENT)} "
               f"ON billing_invoices {SQLITE_REFUSE}")
    op.execute("CREATE TRIGGER billing_invoices_document_once BEFORE UPDATE OF document_pdf ON billing_invoices "
               f"WHEN OLD.document_pdf IS NOT NULL {SQLITE_REFUSE}")
    op.execute(f"CREATE TRIGGER billing_invoice_lines_immutable BEFORE UPDATE ON billing_invoice_lines {SQLITE_REFUSE}")


def _drop_billing_guards():
    if _is_postgresql():
        for table in reversed(IMMUTABLE_BILLING_TABLES):
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
        op.execute("DROP FUNCTION billing_refuse_truncate()")
        op.execute("DROP FUNCTION billing_refuse_change()")
        return
    for trigger in ("billing_invoice_lines_immutable", "billing_invoices_document_once", "billing_invoices_immutable"):
        op.execute(f"DROP TRIGGER {trigger}")


# --- Notebook: the health notebook's entries, masks, attachments, access log, emergency
# accesses, revocations, settings and digest cache.

NOTEBOOK_TABLES = (
    'notebook_entries', 'notebook_entry_masks', 'notebook_attachments', 'notebook_access_log',
    'notebook_emergency_accesses', 'notebook_revocations', 'notebook_settings', 'notebook_digests',
)


def _create_notebook():
    op.create_table(
        'notebook_entries',
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
        sa.UniqueConstraint('supersedes_id', name=op.f('uq_notebook_entries_supersedes_id')),
        info={'append_only': True}
    )
    op.create_index(op.f('ix_notebook_entries_appointment_id'), 'notebook_entries', ['appointment_id'], unique=False)
    op.create_index('ix_notebook_entries_patient_created', 'notebook_entries', ['patient_id', 'created_at'], unique=False)
    op.create_index('ix_notebook_entries_patient_kind', 'notebook_entries', ['patient_id', 'kind'], unique=False)
    op.create_table(
        'notebook_entry_masks',
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['entry_id'], ['notebook_entries.id'], name=op.f('fk_notebook_entry_masks_entry_id_notebook_entries')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_notebook_entry_masks_practitioner_id_practitioner_profiles')),
        sa.PrimaryKeyConstraint('entry_id', 'practitioner_id', name=op.f('pk_notebook_entry_masks'))
    )
    op.create_table(
        'notebook_attachments',
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
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notebook_attachments')),
        info={'append_only': True}
    )
    op.create_index(op.f('ix_notebook_attachments_entry_id'), 'notebook_attachments', ['entry_id'], unique=False)
    op.create_table(
        'notebook_access_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('actor_user_id', sa.Integer(), nullable=False),
        sa.Column('actor_role', sa.Enum('patient', 'practitioner', 'staff', 'admin', name='role', native_enum=False, length=30), nullable=False),
        sa.Column('action', sa.Enum('view_notebook', 'view_entry', 'view_attachment', 'view_measurements', 'add_entry', 'supersede_entry', 'add_attachment', 'emergency_access', 'profile_claimed', name='accessaction', native_enum=False, length=30), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=True),
        sa.Column('emergency', sa.Boolean(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_notebook_access_log_actor_user_id_users')),
        sa.ForeignKeyConstraint(['entry_id'], ['notebook_entries.id'], name=op.f('fk_notebook_access_log_entry_id_notebook_entries')),
        sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_notebook_access_log_patient_id_patient_profiles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notebook_access_log')),
        info={'append_only': True}
    )
    op.create_index('ix_notebook_access_log_patient_at', 'notebook_access_log', ['patient_id', 'at'], unique=False)
    op.create_table(
        'notebook_emergency_accesses',
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
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notebook_emergency_accesses')),
        info={'append_only': True}
    )
    op.create_index('ix_notebook_emergency_accesses_lookup', 'notebook_emergency_accesses', ['patient_id', 'practitioner_id', 'expires_at'], unique=False)
    op.create_index('ix_notebook_emergency_accesses_practitioner_granted', 'notebook_emergency_accesses', ['practitioner_id', 'granted_at'], unique=False)
    op.create_table(
        'notebook_revocations',
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_notebook_revocations_patient_id_patient_profiles')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_notebook_revocations_practitioner_id_practitioner_profiles')),
        sa.PrimaryKeyConstraint('patient_id', 'practitioner_id', name=op.f('pk_notebook_revocations'))
    )
    op.create_table(
        'notebook_settings',
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('emergency_access_locked', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_notebook_settings_patient_id_patient_profiles')),
        sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_notebook_settings'))
    )
    # The digest cache: one encrypted row per notebook and part (webapp.notebook.digest).
    op.create_table(
        'notebook_digests',
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


# Notebook guards (PostgreSQL; SQLite relies on the ORM guard,
# webapp.notebook.guards): entries, attachments, emergency grants and the
# access log refuse UPDATE, DELETE and TRUNCATE, whoever the client is. The
# one legitimate write is `flask notebook reencrypt` (webapp.notebook.keys),
# which rewrites the ciphertext columns under the newest key: allowed only to
# the tables' owner (the migration role, never the runtime role), only when
# the transaction says `SET LOCAL carnet.reencrypt = 'on'`, and only if
# nothing but the ciphertext columns changes.

# Table -> the ciphertext columns that re-encryption may rewrite (webapp.notebook.keys.ENCRYPTED_COLUMNS).
APPEND_ONLY_NOTEBOOK_TABLES = {
    "notebook_entries": ("content",),
    "notebook_attachments": ("filename", "content"),
    "notebook_emergency_accesses": ("reason",),
    "notebook_access_log": (),
}

NOTEBOOK_REFUSE_CHANGE = """
CREATE FUNCTION notebook_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    allowed text[] := TG_ARGV;  -- the ciphertext columns re-encryption may rewrite
    owner oid;
BEGIN
    IF TG_OP = 'UPDATE' AND cardinality(allowed) > 0
       AND current_setting('carnet.reencrypt', true) = 'on' THEN
        SELECT relowner INTO owner FROM pg_class WHERE oid = TG_RELID;
        IF pg_has_role(current_user, owner, 'MEMBER')
           AND (to_jsonb(NEW) - allowed) = (to_jsonb(OLD) - allowed) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'the notebook is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _create_notebook_guards():
    if not _is_postgresql():
        return
    op.execute(NOTEBOOK_REFUSE_CHANGE)
    for table, columns in APPEND_ONLY_NOTEBOOK_TABLES.items():
        arguments = ", ".join(f"'{column}'" for column in columns)
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION notebook_refuse_change({arguments})")
        _refuse_truncate(table, "append_only_refuse_truncate")  # the audit guards' function


def _drop_notebook_guards():
    if not _is_postgresql():
        return
    for table in APPEND_ONLY_NOTEBOOK_TABLES:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute("DROP FUNCTION notebook_refuse_change()")


# --- Invitations: a practitioner's or a proxy's invitation to a patient.

INVITATIONS_TABLES = ('patient_invitations',)


def _create_invitations():
    op.create_table(
        'patient_invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=True),
        sa.Column('invited_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['claimed_by_id'], ['users.id'], name=op.f('fk_patient_invitations_claimed_by_id_users')),
        sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_patient_invitations_invited_by_id_users')),
        sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_patient_invitations_patient_id_patient_profiles')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner_profiles.id'], name=op.f('fk_patient_invitations_practitioner_id_practitioner_profiles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_invitations'))
    )
    op.create_index(op.f('ix_patient_invitations_patient_id'), 'patient_invitations', ['patient_id'], unique=False)


# --- Shared record (DMP): consents, INS identities, documents pushed.

DMP_TABLES = ('dmp_consents', 'dmp_patient_identities', 'dmp_document_pushes')


def _create_dmp():
    op.create_table(
        'dmp_consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('consent', sa.Boolean(), nullable=False),
        sa.Column('actor_user_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_dmp_consents_actor_user_id_users')),
        sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_dmp_consents_patient_id_patient_profiles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dmp_consents'))
    )
    op.create_index('ix_dmp_consents_patient_id_id', 'dmp_consents', ['patient_id', 'id'], unique=False)
    op.create_table(
        'dmp_patient_identities',
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('nir', sa.LargeBinary(), nullable=False),
        sa.Column('status', sa.Enum('provisional', 'recovered', 'validated', 'qualified', name='identitystatus', native_enum=False, length=30), nullable=False),
        sa.Column('recorded_by_user_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_dmp_patient_identities_patient_id_patient_profiles')),
        sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_dmp_patient_identities_recorded_by_user_id_users')),
        sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_dmp_patient_identities'))
    )
    op.create_table(
        'dmp_document_pushes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entry_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.String(length=64), nullable=False),
        sa.Column('replaces_document_id', sa.String(length=64), nullable=True),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.Column('status', sa.Enum('pending', 'sent', 'failed', 'cancelled', name='pushstatus', native_enum=False, length=30), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('outcome', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('attempts >= 0', name=op.f('ck_dmp_document_pushes_attempts_not_negative')),
        sa.ForeignKeyConstraint(['entry_id'], ['notebook_entries.id'], name=op.f('fk_dmp_document_pushes_entry_id_notebook_entries')),
        sa.ForeignKeyConstraint(['patient_id'], ['patient_profiles.id'], name=op.f('fk_dmp_document_pushes_patient_id_patient_profiles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dmp_document_pushes')),
        sa.UniqueConstraint('document_id', name=op.f('uq_dmp_document_pushes_document_id')),
        sa.UniqueConstraint('entry_id', name=op.f('uq_dmp_document_pushes_entry_id'))
    )
    op.create_index('ix_dmp_document_pushes_due', 'dmp_document_pushes', ['status', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_dmp_document_pushes_patient_id'), 'dmp_document_pushes', ['patient_id'], unique=False)
