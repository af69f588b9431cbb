"""The desk through the API: identification (slot first, one 404, counted, 429), walk-ins, arrivals,
the notebook shared at booking, and the roles refused. Booking's clock is frozen (`frozen_clock`)."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.audit.factories import recorded_events
from tests.booking.factories import make_appointment, open_practice
from webapp.accounts.models import ClinicRole
from webapp.booking.models import Appointment, DeskIdentityFailure
from webapp.extensions import db

NOW = dt.datetime(2030, 1, 7, 8, 0, tzinfo=dt.UTC)  # a Monday, 09:00 in Paris
SLOT = NOW + dt.timedelta(hours=2)


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    frozen_clock.set(NOW)


@pytest.fixture
def practice(clinic):
    return open_practice(factories.make_practitioner(clinic=clinic))


@pytest.fixture
def stranger():
    return factories.make_patient(first_name="Hélène", last_name="Le Gall-Durand", birth_date=dt.date(1961, 7, 8))


def body(practice, start=SLOT, **extra) -> dict:
    practitioner, reason = practice
    values = {"practitioner_id": practitioner.id, "visit_reason_id": reason.id, **extra}
    if start is not None:
        values["start"] = start.isoformat()
    return values


def identity(patient, **changes) -> dict:
    return {"patient": {"first_name": patient.first_name, "last_name": patient.last_name,
                        "birth_date": patient.birth_date.isoformat()} | changes}


def book(client, headers, json):
    return client.post("/api/v1/appointments", headers=headers, json=json)


def failures() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(DeskIdentityFailure.id)))


def test_a_taken_slot_is_the_same_409_whatever_the_identity(client, api_token, practice, stranger):
    practitioner, reason = practice
    make_appointment(practitioner, factories.make_patient(), SLOT, reason=reason)
    headers = api_token(practitioner.user)
    answers = {book(client, headers, body(practice, **extra)).get_data(as_text=True) for extra in (
        identity(stranger), identity(stranger, birth_date="1961-07-09"),
        identity(stranger, first_name="Inconnue"), {"patient_id": stranger.id}, {"patient_id": 999_999},
    )}
    [answer] = answers
    assert '"code":"slot_unavailable"' in answer
    assert failures() == 0


def test_a_wrong_identity_on_a_free_slot_is_404_and_an_unknown_id_is_404_whatever(client, api_token, practice,
                                                                                 stranger):
    headers = api_token(practice[0].user)
    wrong = book(client, headers, body(practice, **identity(stranger, birth_date="1961-07-09")))
    assert wrong.status_code == 404 and wrong.json["error"]["code"] == "patient_not_found"
    existing = book(client, headers, body(practice, patient_id=stranger.id))
    missing = book(client, headers, body(practice, patient_id=999_999))
    assert existing.status_code == missing.status_code == 404
    assert existing.json == missing.json and existing.json["error"]["code"] == "patient_not_found"
    assert not db.session.scalars(sa.select(Appointment)).all()
    assert book(client, headers, body(practice, **identity(stranger))).status_code == 201


def test_failed_identifications_are_counted_audited_then_refused_with_429(app, monkeypatch, client, api_token,
                                                                           practice, stranger):
    monkeypatch.setitem(app.config, "CARNET_DESK_IDENTIFICATION_MAX_FAILURES", 2)
    practitioner, _ = practice
    headers = api_token(practitioner.user)
    for day in ("1961-07-09", "1961-07-10"):
        assert book(client, headers, body(practice, **identity(stranger, birth_date=day))).status_code == 404
    assert failures() == 2
    events = recorded_events("desk.identity_failed")
    assert [event.actor_id for event in events] == [practitioner.user_id] * 2
    assert all(event.details == {} for event in events)
    limited = book(client, headers, body(practice, **identity(stranger)))
    assert limited.status_code == 429 and limited.json["error"]["code"] == "identification_attempts_exceeded"
    assert not db.session.scalars(sa.select(Appointment)).all()


def test_a_walk_in_through_the_api(client, api_token, practice, stranger):
    practitioner, _ = practice
    headers = api_token(practitioner.user)
    refused = book(client, headers, body(practice, walk_in=True, **identity(stranger)))
    assert refused.status_code == 422 and "start" in refused.json["error"]["fields"]
    response = book(client, headers, body(practice, start=None, walk_in=True, **identity(stranger)))
    assert response.status_code == 201, response.json
    assert response.json["walk_in"] is True and response.json["booked_at_desk"] is True
    assert dt.datetime.fromisoformat(response.json["arrived_at"]) == NOW
    assert dt.datetime.fromisoformat(response.json["start"]) == NOW
    again = book(client, headers, body(practice, start=None, walk_in=True, patient_id=stranger.id))
    assert again.status_code == 409 and again.json["error"]["code"] == "slot_unavailable"


def test_walk_ins_are_refused_to_patients_other_practitioners_and_accountants(client, api_token, clinic, practice,
                                                                             stranger):
    walk_in = body(practice, start=None, walk_in=True, **identity(stranger))
    for user in (stranger.account, factories.make_practitioner().user,
                 factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT)):
        assert book(client, api_token(user), walk_in).status_code == 403, user
    assert not db.session.scalars(sa.select(Appointment)).all()


def test_the_desk_marks_a_patient_arrived(client, api_token, clinic, practice, stranger):
    practitioner, reason = practice
    appointment = make_appointment(practitioner, stranger, SLOT - dt.timedelta(minutes=30), reason=reason)
    url = f"/api/v1/appointments/{appointment.id}/arrived"
    assert client.post(url, headers=api_token(stranger.account)).status_code == 403
    for outsider in (factories.make_practitioner().user,
                     factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT)):
        assert client.post(url, headers=api_token(outsider)).status_code == 404
    response = client.post(url, headers=api_token(factories.make_staff(clinic=clinic)))
    assert response.status_code == 200 and dt.datetime.fromisoformat(response.json["arrived_at"]) == NOW
    later = make_appointment(practitioner, stranger, SLOT + dt.timedelta(hours=3), reason=reason)
    too_early = client.post(f"/api/v1/appointments/{later.id}/arrived", headers=api_token(practitioner.user))
    assert too_early.status_code == 409 and too_early.json["error"]["code"] == "arrival_too_early"
    missed = client.post(f"/api/v1/appointments/{appointment.id}/no-show", headers=api_token(practitioner.user))
    assert missed.status_code == 409 and missed.json["error"]["code"] == "patient_arrived"


def test_only_the_patient_side_shares_the_notebook_ahead(client, api_token, practice, stranger):
    practitioner, _ = practice
    shared = book(client, api_token(stranger.account), body(practice, share_notebook_ahead=True))
    assert shared.status_code == 201 and shared.json["share_notebook_ahead"] is True
    assert book(client, api_token(stranger.account), body(practice, SLOT + dt.timedelta(hours=1))) \
        .json["share_notebook_ahead"] is False
    refused = book(client, api_token(practitioner.user),
                   body(practice, SLOT + dt.timedelta(hours=2), patient_id=stranger.id, share_notebook_ahead=True))
    assert refused.status_code == 422 and "share_notebook_ahead" in refused.json["error"]["fields"]


def test_a_clinic_accountant_has_no_agenda_and_no_desk_in_the_api(client, api_token, clinic, practice, stranger):
    practitioner, reason = practice
    make_appointment(practitioner, stranger, SLOT, reason=reason)
    headers = api_token(factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT))
    day = SLOT.date().isoformat()
    assert client.get(f"/api/v1/practitioners/{practitioner.id}/agenda?from={day}&to={day}",
                      headers=headers).status_code == 403
    assert client.get("/api/v1/appointments", headers=headers).status_code == 403
    assert book(client, headers, body(practice, SLOT + dt.timedelta(hours=1), **identity(stranger))).status_code == 403
    secretary = api_token(factories.make_staff(clinic=clinic))
    assert client.get("/api/v1/appointments", headers=secretary).json["total"] == 1


@pytest.mark.parametrize("changes", [
    {"birth_date": "0478-05-01"}, {"birth_date": "2030-01-08"}, {"first_name": "\x00\x01"}, {"last_name": "   "},
    {"first_name": "\u202eJean"},
])
def test_a_malformed_identity_is_a_422_and_no_failed_identification(client, api_token, practice, stranger, changes):
    answer = book(client, api_token(practice[0].user), body(practice) | identity(stranger, **changes))
    assert answer.status_code == 422 and answer.json["error"]["code"] == "validation_error", answer.json
    assert set(answer.json["error"]["fields"]) == {f"patient.{name}" for name in changes}
    assert failures() == 0
