"""When a practitioner reads and writes the notebook: from the visit's beginning, or a booking shared ahead.

Each way in that used to open the notebook too early is tried at the service
level and through the API. Booking's clock is frozen (`frozen_clock`), so
no test waits for the wall clock.
"""

import datetime as dt

import pytest

from tests import factories
from tests.booking.factories import make_appointment, open_practice
from tests.notebook.factories import make_entry
from webapp.accounts.models import ClinicRole
from webapp.booking.models import AppointmentStatus
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.notebook import patient_lists, permissions, reading, writing
from webapp.notebook.errors import InvalidAppointmentLink, VisitNotBegun

NOW = dt.datetime(2030, 1, 7, 8, 0, tzinfo=dt.UTC)  # a Monday, 09:00 in Paris
START = NOW + dt.timedelta(days=2)
N = "/api/v1/patients/{pid}/notebook/entries"
NOTE = {"kind": "note", "title": "Avant la visite", "body": "Rien"}


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    frozen_clock.set(NOW)


@pytest.fixture
def practice(clinic):
    return open_practice(factories.make_practitioner(clinic=clinic))


@pytest.fixture
def patient():
    patient = factories.make_patient(first_name="Hélène", last_name="Le Gall", birth_date=dt.date(1961, 7, 8))
    make_entry(patient, title="Antécédents", body="Confidentiel")
    return patient


def write(user, patient, **kwargs):
    return writing.add_entry(user, patient.id, kind="note", title="Note", body="", **kwargs)


# --- Service level ------------------------------------------------------------------------------

def test_a_future_desk_booking_opens_nothing_until_its_start(app, frozen_clock, practice, patient):
    practitioner, reason = practice
    visit = make_appointment(practitioner, patient, START, reason=reason, booked_at_desk=True)
    with app.test_request_context():
        for attempt in (lambda: reading.list_entries(practitioner.user, patient.id),
                        lambda: write(practitioner.user, patient),
                        lambda: write(practitioner.user, patient, appointment_id=visit.id)):
            with pytest.raises(NotFound):
                attempt()
        assert db.session.scalars(patient_lists.search_treated_patients(practitioner.user)).all() == []
        frozen_clock.set(START)
        assert reading.list_entries(practitioner.user, patient.id)["total"] == 1
        assert write(practitioner.user, patient).author_practitioner_id == practitioner.id
        assert db.session.scalars(patient_lists.search_treated_patients(practitioner.user)).all() == [patient]


def test_an_arrived_patient_opens_the_notebook_before_the_start(app, practice, patient):
    practitioner, reason = practice
    visit = make_appointment(practitioner, patient, NOW + dt.timedelta(minutes=40), reason=reason,
                             arrived_at=NOW - dt.timedelta(minutes=5))
    with app.test_request_context():
        assert reading.list_entries(practitioner.user, patient.id)["total"] == 1
        assert write(practitioner.user, patient, appointment_id=visit.id).appointment_id == visit.id


def test_a_notebook_shared_ahead_is_read_but_not_written_before_the_visit(app, frozen_clock, practice, patient):
    practitioner, reason = practice
    visit = make_appointment(practitioner, patient, START, reason=reason, shares_notebook_ahead=True)
    with app.test_request_context():
        assert reading.list_entries(practitioner.user, patient.id)["total"] == 1
        with pytest.raises(VisitNotBegun) as error:
            write(practitioner.user, patient)
        assert error.value.status == 403
        with pytest.raises(VisitNotBegun):
            write(practitioner.user, patient, appointment_id=visit.id)
        frozen_clock.set(START)
        assert write(practitioner.user, patient, appointment_id=visit.id).appointment_id == visit.id


def test_writing_needs_a_begun_visit_of_that_practitioner_even_without_a_link(app, practice, patient):
    """Another practitioner's visit, or one's own future one, lets no one write."""
    practitioner, reason = practice
    colleague = factories.make_practitioner()
    make_appointment(colleague, patient, NOW - dt.timedelta(days=3), status=AppointmentStatus.COMPLETED)
    make_appointment(practitioner, patient, START, reason=reason)
    with app.test_request_context():
        with pytest.raises(NotFound):
            write(practitioner.user, patient)
        assert write(colleague.user, patient).author_practitioner_id == colleague.id


def test_a_no_show_opens_nothing(app, practice, patient):
    practitioner, reason = practice
    missed = make_appointment(practitioner, patient, NOW - dt.timedelta(days=1), reason=reason,
                              status=AppointmentStatus.NO_SHOW)
    with app.test_request_context():
        with pytest.raises(NotFound):
            reading.list_entries(practitioner.user, patient.id)
        with pytest.raises(NotFound):
            write(practitioner.user, patient, appointment_id=missed.id)


def test_a_linked_visit_must_have_begun_itself(app, practice, patient):
    practitioner, reason = practice
    make_appointment(practitioner, patient, NOW - dt.timedelta(days=30), reason=reason,
                     status=AppointmentStatus.COMPLETED)
    later = make_appointment(practitioner, patient, START, reason=reason)
    with app.test_request_context():
        with pytest.raises(InvalidAppointmentLink):
            write(practitioner.user, patient, appointment_id=later.id)


def test_clinic_staff_never_read_the_notebook(app, clinic, practice, patient):
    practitioner, reason = practice
    make_appointment(practitioner, patient, NOW - dt.timedelta(days=1), reason=reason,
                     status=AppointmentStatus.COMPLETED)
    with app.test_request_context():
        for role in (ClinicRole.SECRETARY, ClinicRole.ACCOUNTANT):
            staff = factories.make_staff(clinic=clinic, clinic_role=role)
            with pytest.raises(NotFound):
                permissions.notebook_access(staff, patient.id)
            with pytest.raises(NotFound):
                write(staff, patient)


# --- Through the API ------------------------------------------------------------------------------

def identity(patient) -> dict:
    return {"first_name": patient.first_name, "last_name": patient.last_name,
            "birth_date": patient.birth_date.isoformat()}


def desk_booking(client, headers, practice, patient, **extra):
    practitioner, reason = practice
    response = client.post("/api/v1/appointments", headers=headers, json={
        "practitioner_id": practitioner.id, "visit_reason_id": reason.id, "patient": identity(patient), **extra})
    assert response.status_code == 201, response.json
    return response.json


def test_api_a_desk_booking_made_for_later_opens_nothing_before_the_visit(client, api_token, frozen_clock,
                                                                          practice, patient):
    practitioner, _ = practice
    headers = api_token(practitioner.user)
    visit = desk_booking(client, headers, practice, patient, start=START.isoformat())
    url = N.format(pid=patient.id)
    stranger = client.get(url, headers=api_token(factories.make_practitioner().user))
    read = client.get(url, headers=headers)
    assert read.status_code == 404 and read.json == stranger.json
    assert client.post(url, headers=headers, json=NOTE).status_code == 404
    assert client.post(url, headers=headers, json=NOTE | {"appointment_id": visit["id"]}).status_code == 404
    frozen_clock.set(START + dt.timedelta(minutes=1))
    assert client.get(url, headers=headers).json["total"] == 1
    assert client.post(url, headers=headers, json=NOTE).status_code == 201


def test_api_arrived_opens_the_notebook_before_the_start(client, api_token, practice, patient):
    practitioner, _ = practice
    headers = api_token(practitioner.user)
    soon = NOW + dt.timedelta(minutes=90)
    visit = desk_booking(client, headers, practice, patient, start=soon.isoformat())
    url = N.format(pid=patient.id)
    assert client.get(url, headers=headers).status_code == 404
    assert client.post(f"/api/v1/appointments/{visit['id']}/arrived", headers=headers).status_code == 200
    assert client.get(url, headers=headers).status_code == 200
    assert client.post(url, headers=headers, json=NOTE | {"appointment_id": visit["id"]}).status_code == 201


def test_api_a_walk_in_opens_the_notebook(client, api_token, practice, patient):
    headers = api_token(practice[0].user)
    desk_booking(client, headers, practice, patient, walk_in=True)
    url = N.format(pid=patient.id)
    assert client.get(url, headers=headers).status_code == 200
    assert client.post(url, headers=headers, json=NOTE).status_code == 201


def test_api_a_notebook_shared_at_booking_is_read_from_the_booking_on(client, api_token, practice, patient):
    practitioner, reason = practice
    patient_headers = api_token(patient.account)
    url = N.format(pid=patient.id)
    response = client.post("/api/v1/appointments", headers=patient_headers, json={
        "practitioner_id": practitioner.id, "visit_reason_id": reason.id, "start": START.isoformat(),
        "share_notebook_ahead": True})
    assert response.status_code == 201
    headers = api_token(practitioner.user)
    assert client.get(url, headers=headers).json["total"] == 1
    refused = client.post(url, headers=headers, json=NOTE)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "visit_not_begun"


def test_api_a_no_show_closes_what_the_start_time_opened(client, api_token, frozen_clock, practice, patient):
    practitioner, _ = practice
    headers = api_token(practitioner.user)
    visit = desk_booking(client, headers, practice, patient, start=START.isoformat())
    frozen_clock.set(START + dt.timedelta(minutes=10))
    url = N.format(pid=patient.id)
    assert client.get(url, headers=headers).status_code == 200
    assert client.post(f"/api/v1/appointments/{visit['id']}/no-show", headers=headers).status_code == 200
    assert client.get(url, headers=headers).status_code == 404


def test_api_clinic_staff_never_read_the_notebook(client, api_token, clinic, practice, patient):
    practitioner, reason = practice
    make_appointment(practitioner, patient, NOW - dt.timedelta(days=1), reason=reason,
                     status=AppointmentStatus.COMPLETED)
    url = N.format(pid=patient.id)
    for role in (ClinicRole.SECRETARY, ClinicRole.ACCOUNTANT):
        headers = api_token(factories.make_staff(clinic=clinic, clinic_role=role))
        assert client.get(url, headers=headers).status_code == 404
        assert client.post(url, headers=headers, json=NOTE).status_code == 404
