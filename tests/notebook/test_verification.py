"""The notebook is closed to practitioners not verified, before anything is looked up (service level)."""

import pytest

from tests import factories
from tests.notebook.factories import make_entry, make_treating_practitioner
from webapp.accounts.verification import PractitionerNotVerified
from webapp.extensions import db
from webapp.notebook import patient_lists, permissions, reading, writing
from webapp.notebook.emergency import grant_emergency_access


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize("state", ["pending", "rejected"])
def test_a_practitioner_not_verified_reads_and_writes_no_notebook(state):
    patient = factories.make_patient()
    make_entry(patient)
    practitioner = make_treating_practitioner(patient, verification=state)
    user = practitioner.user
    for patient_id in (patient.id, 999_999, -1):
        with pytest.raises(PractitionerNotVerified):
            permissions.notebook_access(user, patient_id)
    with pytest.raises(PractitionerNotVerified):
        reading.list_entries(user, patient.id)
    with pytest.raises(PractitionerNotVerified):
        writing.add_entry(user, patient.id, kind="note", title="Note", body="Texte")
    with pytest.raises(PractitionerNotVerified):
        patient_lists.search_treated_patients(user)


def test_a_pending_practitioner_has_no_emergency_access():
    patient = factories.make_patient()
    pending = factories.make_practitioner(verification="pending")
    with pytest.raises(PractitionerNotVerified):
        grant_emergency_access(pending.user, patient.id, reason="Patient inconscient aux urgences",
                               first_name=patient.first_name, last_name=patient.last_name,
                               birth_date=patient.birth_date, totp=factories.totp_now(pending.user))
    db.session.rollback()


def test_the_same_practitioner_once_verified_reads_the_notebook():
    patient = factories.make_patient()
    practitioner = make_treating_practitioner(patient)
    assert permissions.notebook_access(practitioner.user, patient.id).practitioner_id == practitioner.id
