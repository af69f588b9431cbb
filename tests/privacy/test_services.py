"""Privacy services: the archive holds everything about the account; closing erases what the law allows."""

import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import recorded_events
from tests.booking.factories import local_start, make_appointment
from tests.privacy.factories import make_household
from webapp.accounts.api_tokens import issue_api_token
from webapp.accounts.authentication import check_password_login
from webapp.accounts.errors import InvalidCredentials
from webapp.accounts.models import ApiToken, PatientProfile, PatientProxy, Role
from webapp.booking.models import WaitlistEntry, WaitlistStatus
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db
from webapp.notebook.models import Attachment, NotebookEntry
from webapp.notifications.models import NotificationPreference, NotificationPreferenceChange
from webapp.privacy import services
from webapp.privacy.errors import UpcomingAppointments


def _files(archive) -> dict:
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        return {name: json.loads(opened.read(name)) for name in opened.namelist()}


def test_archive_holds_the_account_its_profiles_visits_notebooks_and_settings(app):
    household = make_household()
    with app.test_request_context():
        archive = services.export_account(household.account)
        db.session.commit()
    files = _files(archive)
    own, child = household.own.id, household.child.id
    assert files["manifest.json"]["files"] == sorted(name for name in files if name != "manifest.json")
    assert files["account.json"]["email"] == household.account.email
    assert {(p["id"], p["relationship"]) for p in files["patients.json"]} == {(own, "self"), (child, "relative")}
    assert {a["patient_id"] for a in files["appointments.json"]} == {own, child}
    assert [w["patient_id"] for w in files["waitlist.json"]] == [own]
    assert [row["action"] for row in files["notebook_access_log.json"]] == ["view_notebook"]
    assert ({"category": "reminders", "channel": "sms", "enabled": False}
            in files["notification_settings.json"]["current"])
    assert files["notification_settings.json"]["changes"][0]["changed_by_user_id"] == household.account.id
    consents = {c["patient_id"]: c for c in files["consents.json"]}
    assert consents[own]["notebook_entry_masks"][0]["entry_id"] == household.patient_entry.id
    bundle = files[f"notebook/patient-{own}.fhir.json"]
    assert bundle["resourceType"] == "Bundle"
    assert all(title in json.dumps(bundle, ensure_ascii=False) for title in ("Compte rendu", "Mon suivi"))
    assert f"notebook/patient-{child}.fhir.json" in files
    assert archive.filename.endswith(".zip")
    assert [e.target_id for e in recorded_events("privacy.exported")] == [str(household.account.id)]


def test_archive_never_holds_another_patients_data(app):
    household = make_household()
    stranger = factories.make_patient(email="autre@example.com")
    make_appointment(household.practitioner, stranger, local_start(3))
    with app.test_request_context():
        files = _files(services.export_account(household.account))
    text = json.dumps(files)
    assert "autre@example.com" not in text
    assert all(a["patient_id"] != stranger.id for a in files["appointments.json"])


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.STAFF, Role.ADMIN])
def test_only_patients_export_or_close_through_these_services(app, role):
    user = factories.make_practitioner().user if role is Role.PRACTITIONER else factories.make_staff(role=role)
    with app.test_request_context(), pytest.raises(Forbidden):
        services.export_account(user)
    with app.test_request_context(), pytest.raises(Forbidden):
        services.close_account(user)


def test_closing_erases_contact_data_and_settings_and_keeps_health_records(app):
    household = make_household()
    account, own, child = household.account, household.own, household.child
    email = account.email
    with app.test_request_context():
        issue_api_token(account)
        services.close_account(account)
        db.session.commit()
    db.session.expire_all()
    assert not account.is_active and account.email == f"closed-{account.id}@closed.invalid"
    assert account.totp_secret is None and account.locale is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))) == 0
    for profile in (own, child):
        profile = db.session.get(PatientProfile, profile.id)
        assert (profile.email, profile.phone) == (None, None)
        assert profile.first_name and profile.birth_date  # the identity of a kept medical record
    assert db.session.scalars(sa.select(PatientProxy)).all() == []
    assert db.session.scalars(sa.select(NotificationPreference)).all() == []
    assert db.session.scalars(sa.select(NotificationPreferenceChange)).all()  # proof of what was consented
    assert {w.status for w in db.session.scalars(sa.select(WaitlistEntry))} == {WaitlistStatus.CLOSED}
    kept = {entry.id for entry in db.session.scalars(sa.select(NotebookEntry))}
    assert kept == {household.practitioner_entry.id, household.patient_entry.id}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1
    event = recorded_events("privacy.account_closed")[0]
    assert event.actor_id == account.id and event.details["erased_contact_ids"] == sorted([own.id, child.id])
    with app.test_request_context(), pytest.raises(InvalidCredentials):
        check_password_login(email, factories.PASSWORD)


def test_a_relative_another_account_still_acts_for_keeps_its_contact_data(app):
    household = make_household()
    other_parent = factories.make_patient().account
    db.session.add(PatientProxy(user=other_parent, patient=household.child))
    db.session.commit()
    with app.test_request_context():
        services.close_account(household.account)
        db.session.commit()
    child = db.session.get(PatientProfile, household.child.id)
    assert child.email == "famille@example.com"
    assert db.session.scalars(sa.select(PatientProxy.user_id)).all() == [other_parent.id]


def test_closing_is_refused_while_appointments_are_to_come(app):
    household = make_household()
    make_appointment(household.practitioner, household.child, local_start(5))
    with app.test_request_context(), pytest.raises(UpcomingAppointments):
        services.close_account(household.account)
    db.session.rollback()
    assert db.session.get(PatientProfile, household.own.id).email == "lucie.contact@example.com"


def test_a_closed_account_cannot_be_closed_or_exported_again(app):
    household = make_household()
    with app.test_request_context():
        services.close_account(household.account)
        db.session.commit()
        with pytest.raises(NotFound):
            services.export_account(household.account)
