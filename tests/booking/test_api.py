"""Booking API: contract paths, roles, and every bad input answered with the error format."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.billing.factories import make_subscription
from tests.booking.factories import local_start, make_appointment, open_practice
from webapp.accounts.models import ApiToken
from webapp.billing.models import SubscriptionStatus
from webapp.booking.models import Appointment, AppointmentStatus, WaitlistStatus
from webapp.db import now_utc
from webapp.extensions import db, limiter
from webapp.notifications.models import Notification


@pytest.fixture
def patient():
    return factories.make_patient()


def slots_url(practitioner, reason, first, last):
    return f"/api/v1/practitioners/{practitioner.id}/slots?visit_reason_id={reason.id}&from={first}&to={last}"


def booking_body(practitioner, reason, start, **extra):
    return {"practitioner_id": practitioner.id, "visit_reason_id": reason.id, "start": start.isoformat(), **extra}


def assert_error(response, status, code=None, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    if code:
        assert error["code"] == code
    if field:
        assert field in error["fields"]


# --- Directory and slots -------------------------------------------------------------------

def test_search_filters_and_gives_next_availability(client):
    practitioner, _ = open_practice(factories.make_practitioner(first_name="Claire", last_name="Martin",
                                                                city="Lyon", postcode="69007",
                                                                specialty="pediatrician"))
    factories.make_practitioner(first_name="Julien", last_name="Bernard", city="Paris", postcode="75011")
    response = client.get("/api/v1/practitioners?specialty=pediatrician&city=lyon&q=mart")
    assert response.status_code == 200
    assert response.json["total"] == 1
    item = response.json["items"][0]
    assert item["id"] == practitioner.id and item["postcode"] == "69007"
    assert dt.datetime.fromisoformat(item["next_available"]) > dt.datetime.now(dt.UTC)
    by_postcode = client.get("/api/v1/practitioners?postcode=750").json
    assert [p["last_name"] for p in by_postcode["items"]] == ["Bernard"]
    assert by_postcode["items"][0]["next_available"] is None


@pytest.mark.parametrize("field", ["q", "city"])
def test_search_refuses_text_with_a_nul_character(client, field):
    assert_error(client.get(f"/api/v1/practitioners?sort=next_available&{field}=Mar%00tin"), 422, field=field)


def test_search_hides_practitioners_whose_subscription_is_suspended(client):
    shown, _ = open_practice(factories.make_practitioner(city="Lille"))
    hidden, _ = open_practice(factories.make_practitioner(city="Lille"))
    make_subscription(shown)
    make_subscription(hidden, status=SubscriptionStatus.SUSPENDED)
    assert [item["id"] for item in client.get("/api/v1/practitioners?city=Lille").json["items"]] == [shown.id]
    assert client.get(f"/api/v1/practitioners/{hidden.id}").json["bookable"] is False


def test_search_sorted_by_next_available_puts_the_soonest_first(client):
    three_days = 3 * 24 * 60
    soon, _ = open_practice(factories.make_practitioner(last_name="Zola", city="Brest"))
    later_a, _ = open_practice(factories.make_practitioner(last_name="Adam", city="Brest"),
                               min_notice_minutes=three_days)
    later_b, _ = open_practice(factories.make_practitioner(last_name="Bernard", city="Brest"),
                               min_notice_minutes=three_days)
    never = factories.make_practitioner(last_name="Martin", city="Brest")  # no opening hours
    by_name = client.get("/api/v1/practitioners?city=Brest").json
    assert [item["id"] for item in by_name["items"]] == [later_a.id, later_b.id, never.id, soon.id]
    first = client.get("/api/v1/practitioners?city=Brest&sort=next_available&per_page=2").json
    second = client.get("/api/v1/practitioners?city=Brest&sort=next_available&per_page=2&page=2").json
    assert [item["id"] for item in first["items"] + second["items"]] == [soon.id, later_a.id, later_b.id, never.id]
    assert first["total"] == second["total"] == 4
    starts = [item["next_available"] for item in first["items"] + second["items"]]
    assert starts[0] < starts[1] == starts[2] and starts[3] is None
    # The same next availability as the name-ordered search gives each practitioner.
    assert {item["id"]: item["next_available"] for item in first["items"] + second["items"]} == \
        {item["id"]: item["next_available"] for item in by_name["items"]}


def test_search_refuses_bad_parameters(client):
    assert_error(client.get("/api/v1/practitioners?sort=rating"), 422, "validation_error", "sort")
    assert_error(client.get("/api/v1/practitioners?specialty=astrologer"), 422, "validation_error", "specialty")
    assert_error(client.get("/api/v1/practitioners?per_page=1000"), 422, "validation_error", "per_page")


def test_practitioner_profile_lists_active_visit_reasons(client, practice):
    practitioner, reason = practice
    body = client.get(f"/api/v1/practitioners/{practitioner.id}").json
    assert body["bookable"] is True and body["timezone"] == "Europe/Paris"
    assert [r["id"] for r in body["visit_reasons"]] == [reason.id]
    assert body["visit_reasons"][0] == {
        "id": reason.id, "label": "Consultation", "duration_minutes": 30, "price_cents": 3000, "currency": "EUR",
        "new_patients": True, "returning_patients": True, "mode": "in_person", "archived": False}
    assert_error(client.get("/api/v1/practitioners/999999"), 404, "not_found")


def test_slots_are_sorted_in_the_practitioners_timezone(client, practice):
    practitioner, reason = practice
    day = local_start(3).date()
    response = client.get(slots_url(practitioner, reason, day, day))
    assert response.status_code == 200
    items = response.json["items"]
    assert len(items) == 24
    starts = [dt.datetime.fromisoformat(item["start"]) for item in items]
    assert starts == sorted(starts)
    assert items[0]["start"].startswith(f"{day}T08:00:00+0")
    assert starts[0].utcoffset() == local_start(3).utcoffset()


@pytest.mark.parametrize(("query", "field"), [
    ("from={day}&to={before}", "to"),
    ("from={day}&to={far}", "to"),
    ("from=nope&to={day}", "from"),
    ("to={day}", "from"),
])
def test_slots_refuse_bad_ranges(client, practice, query, field):
    practitioner, reason = practice
    day = dt.date.today()
    query = query.format(day=day, before=day - dt.timedelta(days=1), far=day + dt.timedelta(days=62))
    response = client.get(f"/api/v1/practitioners/{practitioner.id}/slots?visit_reason_id={reason.id}&{query}")
    assert_error(response, 422, field=field)


def test_slots_accept_62_days(client, practice):
    practitioner, reason = practice
    day = dt.date.today()
    assert client.get(slots_url(practitioner, reason, day, day + dt.timedelta(days=61))).status_code == 200


def test_slots_of_unknown_practitioner_or_foreign_reason(client, practice):
    practitioner, reason = practice
    _, other_reason = open_practice()
    day = dt.date.today()
    assert_error(client.get(f"/api/v1/practitioners/999999/slots?visit_reason_id={reason.id}&from={day}&to={day}"),
                 404)
    assert_error(client.get(slots_url(practitioner, other_reason, day, day)), 422, field="visit_reason_id")
    assert_error(client.get(f"/api/v1/practitioners/{practitioner.id}/slots?visit_reason_id=-3&from={day}&to={day}"),
                 422, field="visit_reason_id")


# --- Practitioner's own settings -------------------------------------------------------------------

def test_visit_reason_crud_archives_instead_of_deleting(client, api_token):
    practitioner = factories.make_practitioner()
    headers = api_token(practitioner.user)
    created = client.post("/api/v1/practitioners/me/visit-reasons", headers=headers, json={
        "label": "Téléconsultation", "duration_minutes": 20, "price_cents": 2500, "new_patients": False,
        "mode": "video"})
    assert created.status_code == 201 and created.json["mode"] == "video" and created.json["new_patients"] is False
    reason_id = created.json["id"]
    patched = client.patch(f"/api/v1/practitioners/me/visit-reasons/{reason_id}", headers=headers,
                           json={"price_cents": 3000})
    assert patched.status_code == 200
    assert patched.json["price_cents"] == 3000 and patched.json["label"] == "Téléconsultation"
    deleted = client.delete(f"/api/v1/practitioners/me/visit-reasons/{reason_id}", headers=headers)
    assert deleted.status_code == 200 and deleted.json["archived"] is True
    listed = client.get("/api/v1/practitioners/me/visit-reasons", headers=headers).json["items"]
    assert [r["archived"] for r in listed] == [True]
    assert client.get(f"/api/v1/practitioners/{practitioner.id}").json["visit_reasons"] == []


@pytest.mark.parametrize(("body", "field"), [
    ({"duration_minutes": -15}, "duration_minutes"),
    ({"duration_minutes": 12}, "duration_minutes"),
    ({"price_cents": -100}, "price_cents"),
    ({"mode": "telepathy"}, "mode"),
    ({"label": ""}, "label"),
    ({"new_patients": False, "returning_patients": False}, "new_patients"),
    ({"returning_patients": 0}, "returning_patients"),
    ({"new_patients": "yes"}, "new_patients"),
])
def test_visit_reason_bad_input_is_422(client, api_token, body, field):
    headers = api_token(factories.make_practitioner().user)
    base = {"label": "Consultation", "duration_minutes": 30, "price_cents": 3000}
    response = client.post("/api/v1/practitioners/me/visit-reasons", headers=headers, json=base | body)
    assert_error(response, 422, field=field)


def test_another_practitioners_reason_is_404(client, api_token, practice):
    _, reason = practice
    headers = api_token(factories.make_practitioner().user)
    assert_error(client.patch(f"/api/v1/practitioners/me/visit-reasons/{reason.id}", headers=headers,
                              json={"label": "x"}), 404)
    assert_error(client.delete(f"/api/v1/practitioners/me/visit-reasons/{reason.id}", headers=headers), 404)


def test_settings_refuse_other_roles(client, api_token, patient):
    headers = api_token(patient.account)
    for method, url in [("get", "/api/v1/practitioners/me/visit-reasons"), ("get", "/api/v1/practitioners/me/schedule"),
                        ("get", "/api/v1/practitioners/me/absences"),
                        ("post", "/api/v1/practitioners/me/calendar-feed"),
                        ("get", f"/api/v1/practitioners/me/agenda?from={dt.date.today()}&to={dt.date.today()}")]:
        assert_error(getattr(client, method)(url, headers=headers), 403, "forbidden")
    assert_error(client.get("/api/v1/practitioners/me/schedule"), 401)


SCHEDULE = {
    "timezone": "Europe/Paris",
    "weekly": [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "14:00", "end": "18:00"}],
    "min_notice_minutes": 60, "horizon_days": 30, "buffer_minutes": 5, "cancellation_deadline_hours": 48,
    "closed_on_public_holidays": False,
}


def test_schedule_round_trip(client, api_token):
    headers = api_token(factories.make_practitioner().user)
    default = client.get("/api/v1/practitioners/me/schedule", headers=headers).json
    assert default["timezone"] == "Europe/Paris" and default["weekly"] == [] and default["closed_on_public_holidays"]
    response = client.put("/api/v1/practitioners/me/schedule", headers=headers, json=SCHEDULE)
    assert response.status_code == 200
    assert client.get("/api/v1/practitioners/me/schedule", headers=headers).json == SCHEDULE | {
        "slot_step_minutes": None}


@pytest.mark.parametrize(("change", "field"), [
    ({"weekly": [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "11:30", "end": "13:00"}]},
     "weekly"),
    ({"weekly": [{"weekday": 0, "start": "12:00", "end": "09:00"}]}, "weekly"),
    ({"weekly": [{"weekday": 9, "start": "09:00", "end": "12:00"}]}, "weekly.0.weekday"),
    ({"weekly": [{"weekday": 0, "start": "9h", "end": "12:00"}]}, "weekly.0.start"),
    ({"timezone": "Europe/Atlantis"}, "timezone"),
    ({"buffer_minutes": -10}, "buffer_minutes"),
    ({"min_notice_minutes": -1}, "min_notice_minutes"),
    ({"horizon_days": 0}, "horizon_days"),
    ({"cancellation_deadline_hours": -1}, "cancellation_deadline_hours"),
    ({"slot_step_minutes": 7}, "slot_step_minutes"),
    ({"closed_on_public_holidays": 0}, "closed_on_public_holidays"),
])
def test_schedule_bad_input_is_422_and_nothing_changes(client, api_token, change, field):
    headers = api_token(factories.make_practitioner().user)
    assert_error(client.put("/api/v1/practitioners/me/schedule", headers=headers, json=SCHEDULE | change), 422,
                 field=field)
    assert client.get("/api/v1/practitioners/me/schedule", headers=headers).json["weekly"] == []


def test_absences_add_list_delete(client, api_token):
    practitioner = factories.make_practitioner()
    headers = api_token(practitioner.user)
    start = local_start(5, 0)
    created = client.post("/api/v1/practitioners/me/absences", headers=headers, json={
        "start": start.isoformat(), "end": (start + dt.timedelta(days=2)).isoformat(), "reason": "Congrès"})
    assert created.status_code == 201
    assert [a["reason"] for a in client.get("/api/v1/practitioners/me/absences", headers=headers).json["items"]] == [
        "Congrès"]
    other_headers = api_token(factories.make_practitioner().user)
    assert_error(client.delete(f"/api/v1/practitioners/me/absences/{created.json['id']}", headers=other_headers), 404)
    assert client.delete(f"/api/v1/practitioners/me/absences/{created.json['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/practitioners/me/absences", headers=headers).json["items"] == []


@pytest.mark.parametrize(("body", "field"), [
    ({"start": "2030-01-02T09:00:00", "end": "2030-01-03T09:00:00+01:00"}, "start"),
    ({"start": "2030-01-03T09:00:00+01:00", "end": "2030-01-02T09:00:00+01:00"}, "end"),
    ({"start": "yesterday", "end": "2030-01-03T09:00:00+01:00"}, "start"),
])
def test_absence_bad_input_is_422(client, api_token, body, field):
    headers = api_token(factories.make_practitioner().user)
    assert_error(client.post("/api/v1/practitioners/me/absences", headers=headers, json=body), 422, field=field)


def test_agenda_lists_appointments_with_patients(client, api_token, practice, patient):
    practitioner, reason = practice
    appointment = make_appointment(practitioner, patient, local_start(2), reason=reason)
    make_appointment(practitioner, factories.make_patient(), local_start(9), reason=reason)
    day = local_start(2).date()
    response = client.get(f"/api/v1/practitioners/me/agenda?from={day}&to={day}", headers=api_token(practitioner.user))
    assert response.status_code == 200
    assert [(a["id"], a["patient"]["last_name"]) for a in response.json["items"]] == [
        (appointment.id, patient.last_name)]
    assert_error(client.get(f"/api/v1/practitioners/me/agenda?from={day}&to={day - dt.timedelta(days=1)}",
                            headers=api_token(practitioner.user)), 422, field="to")


def test_clinic_staff_read_their_practitioners_agenda_only(client, api_token, patient):
    clinic = factories.make_clinic()
    practitioner, reason = open_practice(factories.make_practitioner(clinic=clinic))
    outsider, _ = open_practice()
    make_appointment(practitioner, patient, local_start(2), reason=reason)
    headers = api_token(factories.make_staff(clinic=clinic))
    day = local_start(2).date()
    response = client.get(f"/api/v1/practitioners/{practitioner.id}/agenda?from={day}&to={day}", headers=headers)
    assert response.status_code == 200 and len(response.json["items"]) == 1
    assert_error(client.get(f"/api/v1/practitioners/{outsider.id}/agenda?from={day}&to={day}", headers=headers), 403)
    assert_error(client.get(f"/api/v1/practitioners/{practitioner.id}/agenda?from={day}&to={day}",
                            headers=api_token(patient.account)), 403)


# --- Appointments ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["book", "cancel"])
def test_a_write_is_answered_from_its_own_transaction(client, api_token, practice, patient, path, sql_events):
    """The answer is serialised before the commit: no query runs after it (no second, implicit transaction)."""
    practitioner, reason = practice
    headers = api_token(patient.account)
    booked = client.post("/api/v1/appointments", headers=headers,
                         json=booking_body(practitioner, reason, local_start(2)))
    with sql_events() as events:
        response = client.post("/api/v1/appointments", headers=headers,
                               json=booking_body(practitioner, reason, local_start(3))) if path == "book" else \
            client.post(f"/api/v1/appointments/{booked.json['id']}/cancel", headers=headers, json={})
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    assert response.json["status"] == ("booked" if path == "book" else "cancelled")
    assert events[-1] == "commit"


def test_a_booking_reads_its_token_once_and_commits_once(client, api_token, practice, patient, sql_events,
                                                         count_queries):
    """A token used within the minute writes nothing: the lookup is not committed on its own (no
    COMMIT, and no second SELECT of the token that a commit's expiry would cause)."""
    practitioner, reason = practice
    headers = api_token(patient.account)
    client.post("/api/v1/appointments", headers=headers, json=booking_body(practitioner, reason, local_start(2)))
    with sql_events() as events, count_queries() as statements:
        response = client.post("/api/v1/appointments", headers=headers,
                               json=booking_body(practitioner, reason, local_start(3)))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert len([text for text in statements if "FROM api_tokens" in text]) == 1
    assert not [text for text in statements if text.lstrip().upper().startswith("UPDATE API_TOKENS")]
    assert events.count("commit") == 1 and events[-1] == "commit"


def test_a_tokens_last_use_is_committed_without_reading_the_token_again(client, api_token, practice, patient,
                                                                         sql_events, count_queries):
    """Once a minute the lookup records the last use in its own commit, which keeps the token and its
    user loaded: they are not read again by the booking."""
    practitioner, reason = practice
    headers = api_token(patient.account)
    with sql_events() as events, count_queries() as statements:
        response = client.post("/api/v1/appointments", headers=headers,
                               json=booking_body(practitioner, reason, local_start(2)))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert len([text for text in statements if "FROM api_tokens" in text]) == 1
    assert len([text for text in statements if text.lstrip().upper().startswith("UPDATE API_TOKENS")]) == 1
    assert events.count("commit") == 2 and events[-1] == "commit"


def test_the_shared_schemas_keep_nothing_from_one_request_to_the_next(client, api_token, practice, patient):
    """One schema instance serves every request (webapp.api.blueprint): each answer holds its own errors only."""
    practitioner, reason = practice
    headers = api_token(patient.account)
    first = client.post("/api/v1/appointments", headers=headers,
                        json=booking_body(practitioner, reason, local_start(2), message="x" * 1001))
    assert_error(first, 422, field="message")
    second = client.post("/api/v1/appointments", headers=headers,
                         json={"practitioner_id": practitioner.id, "visit_reason_id": reason.id})
    assert_error(second, 422, field="start")
    assert set(second.json["error"]["fields"]) == {"start"}
    third = client.post("/api/v1/appointments", headers=headers,
                        json=booking_body(practitioner, reason, local_start(2), message="Bonjour"))
    assert third.status_code == 201 and third.json["message"] == "Bonjour"
    assert third.json["patient"]["id"] == patient.id and third.json["visit_reason"]["id"] == reason.id


def test_a_refused_booking_keeps_the_tokens_last_use(client, api_token, practice, patient):
    """The last use, when due, is committed before the handler runs: a 409 that rolls the
    booking back keeps it."""
    practitioner, reason = practice
    headers = api_token(patient.account)
    client.post("/api/v1/appointments", headers=headers, json=booking_body(practitioner, reason, local_start(2)))
    token = db.session.scalars(sa.select(ApiToken)).one()
    a_while_ago = now_utc() - dt.timedelta(hours=1)
    token.last_used_at = a_while_ago
    db.session.commit()
    assert_error(client.post("/api/v1/appointments", headers=headers,
                             json=booking_body(practitioner, reason, local_start(2))), 409, "slot_unavailable")
    db.session.expire_all()  # what another request sees: committed rows only
    assert token.last_used_at > a_while_ago


def test_patient_books_and_reads_the_appointment(client, api_token, practice, patient):
    practitioner, reason = practice
    headers = api_token(patient.account)
    response = client.post("/api/v1/appointments", headers=headers,
                           json=booking_body(practitioner, reason, local_start(2), message="Bonjour"))
    assert response.status_code == 201
    body = response.json
    assert body["status"] == "booked" and body["patient"]["id"] == patient.id
    assert body["practitioner"]["id"] == practitioner.id and body["visit_reason"]["id"] == reason.id
    assert dt.datetime.fromisoformat(body["start"]) == local_start(2)
    assert dt.datetime.fromisoformat(body["end"]) == local_start(2) + dt.timedelta(minutes=30)
    assert client.get(f"/api/v1/appointments/{body['id']}", headers=headers).json["message"] == "Bonjour"
    upcoming = client.get("/api/v1/appointments?scope=upcoming", headers=headers).json
    assert upcoming["total"] == 1 and upcoming["items"][0]["id"] == body["id"]
    assert client.get("/api/v1/appointments?scope=past", headers=headers).json["total"] == 0


def test_patient_books_for_a_relative_and_sees_it(client, api_token, practice, patient):
    practitioner, reason = practice
    relative = factories.make_relative(patient.account)
    headers = api_token(patient.account)
    response = client.post("/api/v1/appointments", headers=headers,
                           json=booking_body(practitioner, reason, local_start(2), patient_id=relative.id))
    assert response.status_code == 201 and response.json["patient"]["id"] == relative.id
    stranger = factories.make_patient()
    assert_error(client.post("/api/v1/appointments", headers=headers,
                             json=booking_body(practitioner, reason, local_start(3), patient_id=stranger.id)), 404)


def test_a_retried_booking_with_the_same_idempotency_key_answers_the_first_booking_and_books_nothing_more(
        client, api_token, practice, patient):
    practitioner, reason = practice
    headers = api_token(patient.account) | {"Idempotency-Key": "5f0c7a8e-3b1d-4c2a-9a57-1d2e3f4a5b6c"}
    body = booking_body(practitioner, reason, local_start(2), message="Renouvellement d'ordonnance")
    first = client.post("/api/v1/appointments", headers=headers, json=body)
    assert first.status_code == 201, first.get_data(as_text=True)
    notifications = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
    retry = client.post("/api/v1/appointments", headers=headers, json=body)
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json == first.json
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == notifications
    # Without the key, the same request is a second booking attempt, refused.
    assert_error(client.post("/api/v1/appointments", headers=api_token(patient.account), json=body),
                 409, "slot_unavailable")


def test_an_idempotency_key_reused_for_another_booking_is_refused_and_books_nothing(
        client, api_token, practice, patient):
    practitioner, reason = practice
    headers = api_token(patient.account) | {"Idempotency-Key": "a-key-for-one-booking"}
    assert client.post("/api/v1/appointments", headers=headers,
                       json=booking_body(practitioner, reason, local_start(2))).status_code == 201
    other = client.post("/api/v1/appointments", headers=headers,
                        json=booking_body(practitioner, reason, local_start(3)))
    assert_error(other, 422, "idempotency_key_reused")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 1


@pytest.mark.parametrize(("change", "status", "code", "field"), [
    ({"start": "2031-03-03T10:00:00"}, 422, "validation_error", "start"),
    ({"start": "not a date"}, 422, "validation_error", "start"),
    ({"visit_reason_id": 999999}, 422, "validation_error", "visit_reason_id"),
    ({"visit_reason_id": "abc"}, 422, "validation_error", "visit_reason_id"),
    ({"practitioner_id": 999999}, 404, "not_found", None),
    ({"message": "x" * 1001}, 422, "validation_error", "message"),
])
def test_booking_bad_input(client, api_token, practice, patient, change, status, code, field):
    practitioner, reason = practice
    body = booking_body(practitioner, reason, local_start(2)) | change
    assert_error(client.post("/api/v1/appointments", headers=api_token(patient.account), json=body), status,
                 code, field)
    assert db.session.query(Appointment).count() == 0


def test_booking_off_the_grid_is_422_and_taken_is_409(client, api_token, practice, patient):
    practitioner, reason = practice
    headers = api_token(patient.account)
    assert_error(client.post("/api/v1/appointments", headers=headers,
                             json=booking_body(practitioner, reason, local_start(2, 10, 10))),
                 422, "not_a_slot_boundary", "start")
    assert client.post("/api/v1/appointments", headers=headers,
                       json=booking_body(practitioner, reason, local_start(2))).status_code == 201
    other = api_token(factories.make_patient().account)
    assert_error(client.post("/api/v1/appointments", headers=other,
                             json=booking_body(practitioner, reason, local_start(2))), 409, "slot_unavailable")
    assert_error(client.post("/api/v1/appointments", headers=other,
                             json=booking_body(practitioner, reason, local_start(2, 23))), 409, "slot_unavailable")


def test_booking_malformed_json_is_400(client, api_token, patient):
    response = client.post("/api/v1/appointments", headers=api_token(patient.account), data="{",
                           content_type="application/json")
    assert_error(response, 400, "malformed_request")


def identity_body(patient, **changes) -> dict:
    values = {"first_name": patient.first_name, "last_name": patient.last_name,
              "birth_date": patient.birth_date.isoformat()}
    return {"patient": values | changes}


def test_desk_booking_through_the_api(client, api_token, practice, patient):
    practitioner, reason = practice
    headers = api_token(practitioner.user)
    assert_error(client.post("/api/v1/appointments", headers=headers,
                             json=booking_body(practitioner, reason, local_start(2))), 422, field="patient_id")
    never_seen = booking_body(practitioner, reason, local_start(2), patient_id=patient.id)
    assert_error(client.post("/api/v1/appointments", headers=headers, json=never_seen), 404, "patient_not_found",
                 field="patient_id")
    # The old way in by id and birth date is gone.
    assert_error(client.post("/api/v1/appointments", headers=headers,
                             json=never_seen | {"patient_birth_date": patient.birth_date.isoformat()}), 422,
                 field="patient_birth_date")
    by_identity = booking_body(practitioner, reason, local_start(2))
    assert_error(client.post("/api/v1/appointments", headers=headers,
                             json=by_identity | identity_body(patient, birth_date="le 14 mars")), 422,
                 field="patient.birth_date")
    assert_error(client.post("/api/v1/appointments", headers=headers,
                             json=never_seen | identity_body(patient)), 422, field="patient")
    response = client.post("/api/v1/appointments", headers=headers, json=by_identity | identity_body(patient))
    assert response.status_code == 201 and response.json["booked_at_desk"] is True
    assert response.json["patient"]["id"] == patient.id and response.json["share_notebook_ahead"] is False
    # Seen once, the patient is known to the practice: its id is enough.
    response = client.post("/api/v1/appointments", headers=headers,
                           json=booking_body(practitioner, reason, local_start(3), patient_id=patient.id))
    assert response.status_code == 201
    other_practitioner = api_token(factories.make_practitioner().user)
    assert_error(client.post("/api/v1/appointments", headers=other_practitioner,
                             json=booking_body(practitioner, reason, local_start(4), patient_id=patient.id)), 403)
    admin = api_token(factories.make_user(role=factories.Role.ADMIN))
    assert_error(client.post("/api/v1/appointments", headers=admin,
                             json=booking_body(practitioner, reason, local_start(4), patient_id=patient.id)), 403)


def test_suspended_practitioner_is_409_online_but_bookable_at_the_desk(client, api_token, practice, patient):
    practitioner, reason = practice
    make_subscription(practitioner, status=SubscriptionStatus.SUSPENDED)
    assert_error(client.post("/api/v1/appointments", headers=api_token(patient.account),
                             json=booking_body(practitioner, reason, local_start(2))), 409, "practitioner_not_bookable")
    assert not db.session.scalars(sa.select(Appointment)).all()
    desk = client.post("/api/v1/appointments", headers=api_token(practitioner.user),
                       json=booking_body(practitioner, reason, local_start(2)) | identity_body(patient))
    assert desk.status_code == 201 and desk.json["booked_at_desk"]


def test_appointment_is_404_for_strangers(client, api_token, practice, patient):
    practitioner, reason = practice
    appointment = make_appointment(practitioner, patient, local_start(2), reason=reason)
    for outsider in (factories.make_patient().account, factories.make_practitioner().user):
        headers = api_token(outsider)
        assert_error(client.get(f"/api/v1/appointments/{appointment.id}", headers=headers), 404)
        assert_error(client.get(f"/api/v1/appointments/{appointment.id}/ics", headers=headers), 404)
        assert_error(client.post(f"/api/v1/appointments/{appointment.id}/cancel", headers=headers, json={}), 404)
    assert_error(client.get("/api/v1/appointments/999999", headers=api_token(patient.account)), 404)
    assert_error(client.get(f"/api/v1/appointments/{appointment.id}"), 401)


def test_patient_cancel_before_and_after_the_deadline(client, api_token, practice, patient):
    practitioner, reason = practice
    headers = api_token(patient.account)
    early = make_appointment(practitioner, patient, local_start(3), reason=reason)
    soon_start = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)).replace(second=0, microsecond=0)
    soon_start -= dt.timedelta(minutes=soon_start.minute % 5)
    late = make_appointment(practitioner, patient, soon_start, reason=reason)
    response = client.post(f"/api/v1/appointments/{early.id}/cancel", headers=headers, json={"reason": "Empêché"})
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    assert_error(client.post(f"/api/v1/appointments/{late.id}/cancel", headers=headers, json={}), 409,
                 "cancellation_deadline_passed")
    assert_error(client.post(f"/api/v1/appointments/{early.id}/cancel", headers=headers, json={}), 409,
                 "appointment_not_active")
    practitioner_headers = api_token(practitioner.user)
    assert_error(client.post(f"/api/v1/appointments/{late.id}/cancel", headers=practitioner_headers, json={}), 422,
                 field="reason")
    response = client.post(f"/api/v1/appointments/{late.id}/cancel", headers=practitioner_headers,
                           json={"reason": "Fermeture exceptionnelle"})
    assert response.status_code == 200 and response.json["cancel_reason"] == "Fermeture exceptionnelle"


def test_reschedule_through_the_api(client, api_token, practice, patient):
    practitioner, reason = practice
    headers = api_token(patient.account)
    appointment = make_appointment(practitioner, patient, local_start(3), reason=reason)
    make_appointment(practitioner, factories.make_patient(), local_start(4), reason=reason)
    assert_error(client.post(f"/api/v1/appointments/{appointment.id}/reschedule", headers=headers,
                             json={"start": local_start(4).isoformat()}), 409, "slot_unavailable")
    assert_error(client.post(f"/api/v1/appointments/{appointment.id}/reschedule", headers=headers,
                             json={"start": "2031-01-01T10:00:00"}), 422, field="start")
    assert_error(client.post(f"/api/v1/appointments/{appointment.id}/reschedule", headers=headers,
                             json={"start": local_start(4, 10, 10).isoformat()}), 422, "not_a_slot_boundary")
    assert db.session.get(Appointment, appointment.id).start_at == local_start(3)
    response = client.post(f"/api/v1/appointments/{appointment.id}/reschedule", headers=headers,
                           json={"start": local_start(5).isoformat()})
    assert response.status_code == 200
    assert dt.datetime.fromisoformat(response.json["start"]) == local_start(5)


def test_no_show_and_complete_roles(client, api_token, practice, patient):
    practitioner, reason = practice
    past = make_appointment(practitioner, patient, local_start(-1), reason=reason)
    future = make_appointment(practitioner, patient, local_start(3), reason=reason)
    assert_error(client.post(f"/api/v1/appointments/{past.id}/no-show", headers=api_token(patient.account)), 403)
    headers = api_token(practitioner.user)
    assert_error(client.post(f"/api/v1/appointments/{future.id}/complete", headers=headers), 409,
                 "appointment_not_started")
    response = client.post(f"/api/v1/appointments/{past.id}/no-show", headers=headers)
    assert response.status_code == 200 and response.json["status"] == "no_show"
    assert_error(client.post(f"/api/v1/appointments/{past.id}/complete", headers=headers), 409,
                 "appointment_not_active")


def test_practitioner_lists_their_agenda_appointments(client, api_token, practice, patient):
    practitioner, reason = practice
    make_appointment(practitioner, patient, local_start(2), reason=reason)
    make_appointment(practitioner, patient, local_start(-2), reason=reason, status=AppointmentStatus.COMPLETED)
    headers = api_token(practitioner.user)
    assert client.get("/api/v1/appointments?scope=upcoming", headers=headers).json["total"] == 1
    assert client.get("/api/v1/appointments?scope=past", headers=headers).json["total"] == 1
    assert_error(client.get("/api/v1/appointments?scope=someday", headers=headers), 422, field="scope")


def test_booking_is_rate_limited(client, api_token, practice, patient):
    practitioner, reason = practice
    headers = api_token(patient.account)
    statuses = [client.post("/api/v1/appointments", headers=headers,
                            json=booking_body(practitioner, reason, local_start(2, 23))).status_code
                for _ in range(31)]
    assert statuses[:30] == [409] * 30 and statuses[30] == 429
    limiter.reset()


# --- Waiting list -----------------------------------------------------------------------------------

def test_waitlist_join_and_offer_after_cancellation(client, api_token, practice, patient):
    practitioner, reason = practice
    appointment = make_appointment(practitioner, factories.make_patient(), local_start(3), reason=reason)
    headers = api_token(patient.account)
    response = client.post("/api/v1/waitlist", headers=headers, json={
        "practitioner_id": practitioner.id, "visit_reason_id": reason.id, "before": local_start(20).isoformat()})
    assert response.status_code == 201 and response.json["status"] == "waiting"
    assert_error(client.post("/api/v1/waitlist", headers=headers, json={
        "practitioner_id": practitioner.id, "visit_reason_id": reason.id, "before": local_start(20).isoformat()}),
        409, "already_on_waitlist")
    client.post(f"/api/v1/appointments/{appointment.id}/cancel", headers=api_token(practitioner.user),
                json={"reason": "Absence"})
    entries = client.get("/api/v1/waitlist", headers=headers).json["items"]
    assert entries[0]["status"] == WaitlistStatus.OFFERED.value
    assert dt.datetime.fromisoformat(entries[0]["offered_start"]) == local_start(3)


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"before": "2031-01-01T10:00:00"}, 422, "before"),
    ({"before": "2001-01-01T10:00:00+01:00"}, 422, "before"),
    ({"visit_reason_id": 999999}, 422, "visit_reason_id"),
    ({"practitioner_id": 999999}, 404, None),
])
def test_waitlist_bad_input(client, api_token, practice, patient, change, status, field):
    practitioner, reason = practice
    body = {"practitioner_id": practitioner.id, "visit_reason_id": reason.id,
            "before": local_start(20).isoformat()} | change
    assert_error(client.post("/api/v1/waitlist", headers=api_token(patient.account), json=body), status, field=field)


def test_waitlist_is_for_patients(client, api_token, practice):
    practitioner, reason = practice
    assert_error(client.post("/api/v1/waitlist", headers=api_token(practitioner.user), json={
        "practitioner_id": practitioner.id, "visit_reason_id": reason.id, "before": local_start(20).isoformat()}), 403)


def test_openapi_documents_the_booking_paths(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ["/api/v1/practitioners", "/api/v1/practitioners/{practitioner_id}/slots",
                 "/api/v1/practitioners/me/schedule", "/api/v1/appointments",
                 "/api/v1/appointments/{appointment_id}/ics",
                 "/api/v1/practitioners/me/calendar-feed", "/api/v1/waitlist"]:
        assert path in paths, path
