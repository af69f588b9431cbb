"""Consents (notebook sharing, entry masking, notification settings) are recorded with their time and author."""

import sqlalchemy as sa

from tests import factories
from tests.audit.factories import recorded_events
from tests.privacy.factories import make_household
from webapp.accounts.notification_settings import set_notification_choices
from webapp.extensions import db
from webapp.notebook import controls, masking
from webapp.notifications.models import Category, Channel, NotificationPreferenceChange
from webapp.transaction import transaction


def test_revoking_a_practitioner_is_recorded_with_its_author(app):
    household = make_household()
    with app.test_request_context(), transaction():
        controls.set_sharing(household.account, household.own.id, [household.practitioner.id])
    with app.test_request_context(), transaction():
        controls.set_sharing(household.account, household.own.id, [household.practitioner.id])  # no change
    with app.test_request_context(), transaction():
        controls.set_sharing(household.account, household.own.id, [])
    events = recorded_events("notebook.sharing_changed")
    assert [e.details["revoked_practitioner_ids"] for e in events] == [[household.practitioner.id], []]
    assert {(e.actor_id, e.target_id) for e in events} == {(household.account.id, str(household.own.id))}
    assert all(e.occurred_at is not None for e in events)


def test_hiding_an_entry_is_recorded_with_its_author(app):
    household = make_household()
    entry = household.practitioner_entry
    other = factories.make_practitioner()
    with app.test_request_context(), transaction():
        masking.set_masking(household.account, household.own.id, entry.id, [other.id])
    event = recorded_events("notebook.masking_changed")[0]
    assert event.actor_id == household.account.id and event.target_id == str(entry.id)
    assert event.details == {"patient_id": household.own.id, "hidden_from_practitioner_ids": [other.id]}


def test_notification_choices_keep_their_history(app):
    household = make_household()
    with app.test_request_context(), transaction():
        set_notification_choices(household.account, {(Category.REMINDERS, Channel.SMS): True}, by=household.account)
    changes = db.session.scalars(
        sa.select(NotificationPreferenceChange).order_by(NotificationPreferenceChange.id)).all()
    assert [(c.is_enabled, c.changed_by_id) for c in changes] == [(False, household.account.id),
                                                                   (True, household.account.id)]
    assert all(c.changed_at is not None for c in changes)
