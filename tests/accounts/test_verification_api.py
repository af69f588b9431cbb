"""Verification through the API: what a freshly signed-up practitioner may do, and the back office's endpoints."""

import datetime as dt

import pyotp
import pytest

from tests import factories
from tests.audit.factories import recorded_events
from tests.booking.factories import local_start, make_appointment, open_practice
from tests.notifications.factories import outbox
from webapp.accounts.models import PractitionerProfile, Role, Verification
from webapp.demo import DIRECTORY_SAMPLE
from webapp.extensions import db

SIGNUP = {
    "role": "practitioner", "email": "lucie.moreau@example.com", "password": "une-phrase-2026",
    "first_name": "Lucie", "last_name": "Moreau", "rpps": factories.valid_rpps(777), "specialty": "pediatrician",
    "address": "3 rue de la Paix", "postcode": "75002", "city": "Paris",
}
SCHEDULE = {
    "timezone": "Europe/Paris", "weekly": [{"weekday": day, "start": "08:00", "end": "20:00"} for day in range(7)],
    "min_notice_minutes": 0, "horizon_days": 60, "buffer_minutes": 0, "cancellation_deadline_hours": 24,
    "closed_on_public_holidays": False,
}
BACK_OFFICE = "/api/v1/backoffice/practitioners"


@pytest.fixture
def signed_up(client):
    """A practitioner who just signed up through the API, with a bearer token."""
    created = client.post("/api/v1/accounts", json=SIGNUP)
    assert created.status_code == 201, created.json
    assert created.json["verification"] == "pending"
    token = client.post("/api/v1/auth/token", json={
        "email": SIGNUP["email"], "password": SIGNUP["password"], "totp": pyotp.TOTP(created.json["totp_secret"]).now(),
    })
    assert token.status_code == 200, token.json
    return created.json["practitioner_id"], {"Authorization": f"Bearer {token.json['token']}"}


@pytest.fixture
def admin_headers(api_token):
    return api_token(factories.make_staff(role=Role.ADMIN))


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json["error"]["code"] == code


def _set_up_practice(client, headers) -> int:
    """Hours, a visit reason, an absence and the subscription: all a pending practitioner may do."""
    assert client.put("/api/v1/practitioners/me/schedule", headers=headers, json=SCHEDULE).status_code == 200
    reason = client.post("/api/v1/practitioners/me/visit-reasons", headers=headers, json={
        "label": "Consultation", "duration_minutes": 30, "price_cents": 3000})
    assert reason.status_code == 201
    start = local_start(40, 0)
    assert client.post("/api/v1/practitioners/me/absences", headers=headers, json={
        "start": start.isoformat(), "end": (start + dt.timedelta(days=1)).isoformat(), "reason": "Congrès",
    }).status_code == 201
    assert client.get("/api/v1/billing/subscription", headers=headers).json["status"] == "trialing"
    return reason.json["id"]


def _booking(practitioner_id, reason_id, days_ahead=2, **extra) -> dict:
    return {"practitioner_id": practitioner_id, "visit_reason_id": reason_id,
            "start": local_start(days_ahead).isoformat(), **extra}


def test_a_fresh_practitioner_sets_up_the_agenda_and_nothing_else(client, signed_up, api_token):
    practitioner_id, headers = signed_up
    assert client.get("/api/v1/me", headers=headers).json["verification"] == "pending"
    reason_id = _set_up_practice(client, headers)

    # Not listed: the public sees no such practitioner.
    assert client.get("/api/v1/practitioners?q=Moreau").json["total"] == 0
    assert_error(client.get(f"/api/v1/practitioners/{practitioner_id}"), 404, "not_found")
    day = local_start(2).date()
    assert_error(client.get(f"/api/v1/practitioners/{practitioner_id}/slots?visit_reason_id={reason_id}"
                            f"&from={day}&to={day}"), 404, "not_found")

    # Not bookable by a patient.
    patient = factories.make_patient()
    assert_error(client.post("/api/v1/appointments", headers=api_token(patient.account),
                             json=_booking(practitioner_id, reason_id)), 404, "not_found")

    # No desk: booking, agenda.
    desk_patient = factories.make_desk_patient(desk_practitioner_id=practitioner_id)
    assert_error(client.post("/api/v1/appointments", headers=headers,
                             json=_booking(practitioner_id, reason_id, patient_id=desk_patient.id)),
                 403, "practitioner_not_verified")
    assert_error(client.get(f"/api/v1/practitioners/me/agenda?from={day}&to={day}", headers=headers),
                 403, "practitioner_not_verified")

    # No notebook, whatever the patient id (existing or not: nothing leaks).
    for pid in (patient.id, 999_999):
        assert_error(client.get(f"/api/v1/patients/{pid}/notebook/entries", headers=headers),
                     403, "practitioner_not_verified")
        assert_error(client.post(f"/api/v1/patients/{pid}/notebook/entries", headers=headers,
                                 json={"kind": "note", "title": "Note", "body": "Texte"}),
                     403, "practitioner_not_verified")


def test_a_pending_practitioner_has_no_emergency_access(client, signed_up):
    _, headers = signed_up
    patient = factories.make_patient()
    assert_error(client.post(f"/api/v1/patients/{patient.id}/notebook/emergency-access", headers=headers,
                             json={"reason": "Patient inconscient aux urgences", "first_name": patient.first_name,
                                   "last_name": patient.last_name, "birth_date": patient.birth_date.isoformat(),
                                   "totp": "123456"}), 403, "practitioner_not_verified")


def test_a_rejected_practitioner_loses_the_notebooks_of_past_patients(client, api_token):
    practitioner, reason = open_practice(factories.make_practitioner(verification="rejected"))
    patient = factories.make_patient()
    make_appointment(practitioner, patient, local_start(-3), reason=reason)
    assert_error(client.get(f"/api/v1/patients/{patient.id}/notebook/entries", headers=api_token(practitioner.user)),
                 403, "practitioner_not_verified")


@pytest.mark.parametrize("role", ["patient", "practitioner", "staff"])
def test_back_office_endpoints_refuse_everyone_but_admins(client, api_token, role):
    user = {"patient": lambda: factories.make_patient().account,
            "practitioner": lambda: factories.make_practitioner().user,
            "staff": lambda: factories.make_staff(clinic=factories.make_clinic())}[role]()
    headers = api_token(user)
    pending = factories.make_practitioner(verification="pending")
    for method, url, body in [
        ("get", f"{BACK_OFFICE}?verification=pending", None), ("get", f"{BACK_OFFICE}/{pending.id}", None),
        ("post", f"{BACK_OFFICE}/{pending.id}/verify", {"method": "document"}),
        ("post", f"{BACK_OFFICE}/{pending.id}/reject", {"reason": "Non"}),
    ]:
        assert_error(getattr(client, method)(url, headers=headers, json=body), 403, "forbidden")
    assert client.get(BACK_OFFICE).status_code == 401
    db.session.refresh(pending)
    assert pending.verification is Verification.PENDING


def test_back_office_lists_pending_practitioners_with_the_directory_comparison(client, app, admin_headers):
    assert app.test_cli_runner().invoke(args=["directory", "import", str(DIRECTORY_SAMPLE)]).exit_code == 0
    haddad = factories.make_practitioner(first_name="Nadia", last_name="Haddad", rpps="99700001003",
                                         verification="pending")
    lemoine = factories.make_practitioner(first_name="Bastien", last_name="Lemoine", rpps="99700001011",
                                          specialty="cardiologist", verification="pending")
    factories.make_practitioner()  # verified: not in the pending list
    page = client.get(BACK_OFFICE, headers=admin_headers).json
    assert page["total"] == 2 and [item["id"] for item in page["items"]] == [haddad.id, lemoine.id]
    first, second = page["items"]
    assert first["verification"] == "pending" and first["email"] == haddad.user.email
    assert first["directory"]["matches_identity"] is True and first["directory"]["profession"] == "match"
    assert first["directory"]["sites"][0]["organisation"] == "CABINET MEDICAL PARADIS"
    assert (second["directory"]["found"], second["directory"]["first_name"]) == (True, "mismatch")
    assert second["directory"]["directory_first_name"] == "Sébastien"
    verified = client.get(f"{BACK_OFFICE}?verification=verified&per_page=5", headers=admin_headers).json
    assert verified["total"] == 1
    assert_error(client.get(f"{BACK_OFFICE}?verification=maybe", headers=admin_headers), 422, "validation_error")
    assert_error(client.get(f"{BACK_OFFICE}/999999", headers=admin_headers), 404, "not_found")


def test_verify_by_directory_refuses_a_mismatch(client, app, admin_headers):
    app.test_cli_runner().invoke(args=["directory", "import", str(DIRECTORY_SAMPLE)])
    lemoine = factories.make_practitioner(first_name="Bastien", last_name="Lemoine", rpps="99700001011",
                                          verification="pending")
    assert_error(client.post(f"{BACK_OFFICE}/{lemoine.id}/verify", headers=admin_headers,
                             json={"method": "directory", "note": "Annuaire"}), 409, "directory_mismatch")
    assert recorded_events("practitioner.verified") == [] and outbox() == []
    assert_error(client.post(f"{BACK_OFFICE}/{lemoine.id}/verify", headers=admin_headers,
                             json={"method": "pro_sante_connect"}), 422, "validation_error")


def test_once_verified_the_practitioner_is_listed_and_bookable(client, signed_up, api_token, admin_headers):
    practitioner_id, headers = signed_up
    reason_id = _set_up_practice(client, headers)
    outbox_before = len(outbox())
    response = client.post(f"{BACK_OFFICE}/{practitioner_id}/verify", headers=admin_headers,
                           json={"method": "document", "note": "Carte CPS vue en visio"})
    assert response.status_code == 200, response.json
    assert response.json["verification"] == "verified" and response.json["verification_method"] == "document"
    [event] = recorded_events("practitioner.verified")
    assert event.target_id == str(practitioner_id) and event.details["method"] == "document"
    [mail] = outbox()[outbox_before:]
    assert mail.key.startswith(f"practitioner-verified:{practitioner_id}:")

    assert client.get("/api/v1/me", headers=headers).json["verification"] == "verified"
    assert [item["id"] for item in client.get("/api/v1/practitioners?q=Moreau").json["items"]] == [practitioner_id]
    assert client.get(f"/api/v1/practitioners/{practitioner_id}").status_code == 200
    patient = factories.make_patient()
    booked = client.post("/api/v1/appointments", headers=api_token(patient.account),
                         json=_booking(practitioner_id, reason_id))
    assert booked.status_code == 201, booked.json


def test_reject_tells_the_practitioner_and_is_audited(client, signed_up, admin_headers):
    practitioner_id, headers = signed_up
    assert_error(client.post(f"{BACK_OFFICE}/{practitioner_id}/reject", headers=admin_headers, json={"reason": ""}),
                 422, "validation_error")
    response = client.post(f"{BACK_OFFICE}/{practitioner_id}/reject", headers=admin_headers,
                           json={"reason": "Aucune inscription à l'Ordre pour ce numéro."})
    assert response.status_code == 200
    assert response.json["verification"] == "rejected"
    assert response.json["rejection_reason"] == "Aucune inscription à l'Ordre pour ce numéro."
    [event] = recorded_events("practitioner.rejected")
    assert event.target_id == str(practitioner_id) and "reason" not in event.details
    assert [mail.key.split(":")[0] for mail in outbox(user_id=db.session.get(
        PractitionerProfile, practitioner_id).user_id)] == ["account-confirmation", "practitioner-rejected"]
    assert client.get("/api/v1/me", headers=headers).json["verification"] == "rejected"
