"""The outbox rules: atomic with the change, idempotent keys, cancellation, settings."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.notifications.factories import outbox
from webapp.db import now_utc
from webapp.errors import Forbidden, InvalidInput
from webapp.extensions import db
from webapp.notifications.models import (
    Category,
    Channel,
    NotificationPreferenceChange,
    NotificationStatus,
)
from webapp.notifications.services import (
    cancel_notifications,
    enqueue_email,
    enqueue_sms,
    is_wanted,
    notification_preferences,
    open_email,
    set_notification_preferences,
)
from webapp.transaction import transaction

CONTEXT = {"practitioner_name": "Dr Martin", "notebook_url": "http://carnet.test/notebook"}


def enqueue(key="notebook-entry:1", **overrides):
    values = {"key": key, "to": "paul@example.com", "template": "notebook_entry", "context": CONTEXT,
              "category": Category.NOTEBOOK}
    enqueue_email(**(values | overrides))



def test_a_rolled_back_change_leaves_no_notification():
    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction():
        enqueue()
        raise Refused()
    assert outbox() == []


def test_a_refused_signup_leaves_no_confirmation_mail(client, form_post):
    factories.make_patient(user_overrides={"email": "taken@example.com"})
    form_post("/signup/patient", {"first_name": "Marie", "last_name": "Lambert", "birth_date": "1986-04-12",
                                  "email": "taken@example.com", "password": "une-phrase-2026"})
    assert outbox() == []


def test_the_same_key_twice_is_a_no_op():
    with transaction():
        enqueue()
        enqueue(to="someone-else@example.com")
    with transaction():
        enqueue()
    [row] = outbox()
    assert open_email(row).to == "paul@example.com"


def test_the_same_key_on_email_and_sms_are_two_notifications():
    with transaction():
        enqueue(key="reminder:appointment-1:2h")
        enqueue_sms(key="reminder:appointment-1:2h", to="+33612345678", template="appointment_reminder",
                    category=Category.REMINDERS, context={
                        "practitioner_name": "Dr Martin", "starts_at": now_utc(), "timezone": "Europe/Paris",
                        "address": "1 rue X", "manage_url": "http://carnet.test/a/1"})
    assert {row.channel for row in outbox()} == {Channel.EMAIL, Channel.SMS}


def test_the_key_is_unique_in_the_database():
    with transaction():
        enqueue()
    row = outbox()[0]
    duplicate = {column.name: getattr(row, column.key) for column in row.__table__.columns if column.name != "id"}
    with pytest.raises(sa.exc.IntegrityError), transaction():
        db.session.execute(sa.insert(row.__table__).values(**duplicate))


def test_cancel_withdraws_pending_notifications_by_key_prefix():
    with transaction():
        enqueue("reminder:appointment-1:48h")
        enqueue("reminder:appointment-1:2h")
        enqueue("reminder:appointment-12:2h")
        enqueue("booking-confirmed:1")
    with transaction():
        assert cancel_notifications("reminder:appointment-1:") == 2
    statuses = {row.key: row.status for row in outbox()}
    assert statuses == {
        "reminder:appointment-1:48h": NotificationStatus.CANCELLED,
        "reminder:appointment-1:2h": NotificationStatus.CANCELLED,
        "reminder:appointment-12:2h": NotificationStatus.PENDING,
        "booking-confirmed:1": NotificationStatus.PENDING,
    }


def test_cancel_prefix_wildcards_are_literal():
    with transaction():
        enqueue("reminder:a_1:2h")
        enqueue("reminder:ab1:2h")
    with transaction():
        assert cancel_notifications("reminder:a_1:") == 1
    with pytest.raises(ValueError):
        cancel_notifications("")


def test_cancel_leaves_sent_notifications_alone():
    with transaction():
        enqueue("booking-confirmed:1")
    row = outbox()[0]
    row.status = NotificationStatus.SENT
    db.session.commit()
    with transaction():
        assert cancel_notifications("booking-confirmed:") == 0


def test_a_cancelled_key_enqueued_again_is_scheduled_with_the_new_content():
    due = now_utc() + dt.timedelta(days=2)
    with transaction():
        enqueue("reminder:appointment-1:48h", due_at=due)
        cancel_notifications("reminder:appointment-1:")
    with transaction():
        enqueue("reminder:appointment-1:48h", due_at=due + dt.timedelta(hours=3), to="new@example.com")
    [row] = outbox()
    assert row.status is NotificationStatus.PENDING and row.due_at == due + dt.timedelta(hours=3)
    assert open_email(row).to == "new@example.com"


def test_a_category_turned_off_is_not_enqueued():
    patient = factories.make_patient()
    user = patient.account
    with transaction():
        set_notification_preferences(user.id, {(Category.NOTEBOOK, Channel.EMAIL): False}, by_id=user.id)
    with transaction():
        enqueue(user_id=user.id)
        enqueue("security:1", template="password_reset", category=Category.SECURITY, user_id=user.id,
                context={"reset_url": "http://carnet.test/r", "minutes": 60})
    assert [row.key for row in outbox()] == ["security:1"]


def test_settings_default_to_on_and_record_each_change_with_its_author():
    user = factories.make_patient().account
    assert all(notification_preferences(user.id).values())
    with transaction():
        changed = set_notification_preferences(user.id, {
            (Category.REMINDERS, Channel.SMS): False, (Category.REMINDERS, Channel.EMAIL): True,
        }, by_id=user.id)
    assert changed == 1
    assert is_wanted(user.id, Category.REMINDERS, Channel.SMS) is False
    assert is_wanted(user.id, Category.REMINDERS, Channel.EMAIL) is True
    [change] = db.session.scalars(sa.select(NotificationPreferenceChange)).all()
    assert (change.category, change.channel, change.is_enabled) == (Category.REMINDERS, Channel.SMS, False)
    assert change.changed_by_id == user.id and change.changed_at is not None


def test_security_and_billing_notices_cannot_be_turned_off():
    user = factories.make_patient().account
    for category in (Category.SECURITY, Category.BILLING):
        with pytest.raises(InvalidInput) as refused, transaction():
            set_notification_preferences(user.id, {(category, Channel.EMAIL): False}, by_id=user.id)
        assert refused.value.code == "notification_required"
    assert is_wanted(user.id, Category.SECURITY, Channel.EMAIL)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NotificationPreferenceChange)) == 0


def test_nobody_else_changes_a_users_settings():
    user = factories.make_patient().account
    for other in (factories.make_patient().account, factories.make_practitioner().user,
                  factories.make_staff(), factories.make_staff(role=factories.Role.ADMIN)):
        with pytest.raises(Forbidden), transaction():
            set_notification_preferences(user.id, {(Category.REMINDERS, Channel.EMAIL): False}, by_id=other.id)
    assert is_wanted(user.id, Category.REMINDERS, Channel.EMAIL)


def test_a_key_must_be_given():
    with pytest.raises(ValueError):
        enqueue("")
