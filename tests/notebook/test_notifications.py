"""Notebook's messages: emergency access and new practitioner entries reach the patient side, without health content."""

import pytest

from tests import factories
from tests.notebook.factories import emergency_request, make_proxy_user, make_treating_practitioner
from tests.notifications.factories import outbox
from webapp.notebook import emergency, writing
from webapp.notifications.models import Category
from webapp.notifications.sender import send_due_notifications
from webapp.notifications.services import open_email
from webapp.transaction import transaction

REASON = "Patient inconscient aux urgences"


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


def test_emergency_access_tells_the_patient_by_mail(smtp):
    patient = factories.make_patient()
    doctor = factories.make_practitioner()
    with transaction():
        grant = emergency.grant_emergency_access(doctor.user, patient.id,
                                                 **emergency_request(patient, doctor.user, reason=REASON))

    [row] = outbox(category=Category.SECURITY)
    assert row.key == f"emergency-access:{grant.id}:{patient.account.id}"
    send_due_notifications()
    [message] = smtp.messages
    assert message["To"] == patient.account.email
    text = message.get_body(("plain",)).get_content()
    assert f"{doctor.full_name} a ouvert votre carnet de santé en urgence" in text and REASON in text
    assert f"http://carnet.test/patients/{patient.id}/notebook/access-log" in text


def test_emergency_access_to_a_relative_tells_every_account_acting_for_them():
    parent = factories.make_user()
    child = factories.make_relative(parent)
    other_parent = make_proxy_user(child)
    with transaction():
        doctor = factories.make_practitioner().user
        emergency.grant_emergency_access(doctor, child.id, **emergency_request(child, doctor, reason=REASON))
    assert {open_email(row).to for row in outbox(category=Category.SECURITY)} == {parent.email, other_parent.email}


def test_a_practitioner_entry_tells_the_patient_without_its_content(smtp):
    patient = factories.make_patient()
    doctor = make_treating_practitioner(patient)
    with transaction():
        entry = writing.add_entry(doctor.user, patient.id, kind="note", title="Diagnostic confidentiel",
                                  body="Hypertension artérielle sévère")

    [row] = outbox(category=Category.NOTEBOOK)
    assert row.key == f"notebook-entry:{entry.id}:{patient.account.id}"
    send_due_notifications()
    [message] = smtp.messages
    text = message.get_body(("plain",)).get_content() + message.get_body(("html",)).get_content()
    assert f"{doctor.full_name} a ajouté un élément à votre carnet de santé" in text
    assert f"http://carnet.test/patients/{patient.id}/notebook" in text
    assert "Diagnostic" not in text and "Hypertension" not in text


def test_the_patient_s_own_entry_sends_nothing():
    patient = factories.make_patient()
    with transaction():
        writing.add_entry(patient.account, patient.id, kind="note", title="Mon suivi", body="RAS")
    assert outbox() == []
