"""One error format for every refusal of the API: no 500 for bad input."""

import json

import pytest

from tests import factories
from webapp.accounts.models import PatientProfile, User
from webapp.extensions import db

RELATIVE = {"first_name": "Jules", "last_name": "Lambert", "birth_date": "2016-09-03"}


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]


@pytest.fixture
def patient_headers(api_token):
    return api_token(factories.make_patient().account)


def test_unknown_api_path_is_a_404_in_the_error_format(client):
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_a_405_listing_the_allowed_methods(client):
    response = client.put("/api/v1/me/relatives")
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_oversized_body_is_a_413(client, app, patient_headers, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    body = RELATIVE | {"first_name": "J" * 2000}
    response = client.post("/api/v1/me/relatives", headers=patient_headers, json=body)
    assert_error(response, 413, "payload_too_large")
    assert db.session.query(PatientProfile).count() == 1  # only the caller's own profile


@pytest.mark.parametrize("send", [
    {"data": '{"first_name": "Jules"}', "content_type": "text/plain"},
    {"data": {"first_name": "Jules", "last_name": "Lambert", "birth_date": "2016-09-03"}},  # a form post
    {"data": b'{"first_name": "Jules"}'},  # a body without any content type
    {"data": b"", "content_type": "application/x-www-form-urlencoded"},
], ids=["text/plain", "form", "no content type", "empty form"])
def test_non_json_body_is_a_415(client, patient_headers, send):
    response = client.post("/api/v1/me/relatives", headers=patient_headers, **send)
    assert_error(response, 415, "unsupported_media_type")
    assert db.session.query(PatientProfile).count() == 1


def test_non_json_body_is_a_415_on_public_endpoints_too(client):
    response = client.post("/api/v1/auth/token", data="email=a@example.com&password=x",
                           content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("raw", [
    "{not json", '{"first_name": "Jules",}', "[1, 2]", '"a string"', "null", "42", "true",
    '{"first_name": NaN}', b"\xff\xfe\xfa",
], ids=["broken", "trailing comma", "list", "string", "null", "number", "boolean", "NaN", "not UTF-8"])
def test_malformed_or_non_object_json_is_a_400(client, patient_headers, raw):
    response = client.post("/api/v1/me/relatives", headers=patient_headers, data=raw,
                           content_type="application/json")
    assert_error(response, 400, "malformed_request")


def test_json_media_type_with_charset_or_suffix_is_accepted(client, patient_headers):
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = client.post("/api/v1/me/relatives", headers=patient_headers,
                               data=json.dumps(RELATIVE), content_type=content_type)
        assert response.status_code == 201, response.json


def test_missing_body_where_one_is_required_is_a_400(client, patient_headers):
    response = client.post("/api/v1/me/relatives", headers=patient_headers)
    assert_error(response, 400, "malformed_request")


def test_empty_object_is_a_field_error_naming_the_required_fields(client, patient_headers):
    response = client.post("/api/v1/me/relatives", headers=patient_headers, json={})
    assert_error(response, 422, "validation_error")
    assert {"first_name", "last_name", "birth_date"} <= set(response.json["error"]["fields"])


@pytest.mark.parametrize("body", [{"returning_patients": 0}, {"new_patients": "true"}, {"price_cents": 30.5},
                                  {"duration_minutes": "30"}], ids=["0 for false", "string", "float", "numeric string"])
def test_json_values_of_the_wrong_type_are_refused_not_coerced(client, api_token, body):
    headers = api_token(factories.make_practitioner().user)
    reason = {"label": "Consultation", "duration_minutes": 30, "price_cents": 3000}
    response = client.post("/api/v1/practitioners/me/visit-reasons", headers=headers, json=reason | body)
    assert_error(response, 422, "validation_error")
    assert set(body) == set(response.json["error"]["fields"])


def test_unknown_field_is_a_422_naming_it(client, patient_headers):
    response = client.post("/api/v1/me/relatives", headers=patient_headers, json=RELATIVE | {"admin": True})
    assert_error(response, 422, "validation_error")
    assert "admin" in response.json["error"]["fields"]


def test_errors_inside_lists_and_nested_objects_are_named_by_their_path(client, api_token):
    practitioner = factories.make_practitioner()
    body = {"weekly": [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 9, "start": "9h", "end": "12:00"}]}
    response = client.put("/api/v1/practitioners/me/schedule", headers=api_token(practitioner.user), json=body)
    assert_error(response, 422, "validation_error")
    assert set(response.json["error"]["fields"]) == {"weekly.1.weekday", "weekly.1.start"}
    assert all(isinstance(message, str) for messages in response.json["error"]["fields"].values()
               for message in messages)


@pytest.mark.parametrize("path", ["/api/v1/appointments/2147483648", "/api/v1/appointments/0",
                                  "/api/v1/billing/invoices/99999999999999999999999/pdf"])
def test_an_id_outside_the_database_range_is_a_404(client, api_token, path):
    assert_error(client.get(path, headers=api_token(factories.make_practitioner().user)), 404, "not_found")


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer not-a-token", "token abc"])
def test_missing_or_bad_credentials_are_a_401_with_bearer_challenge(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json["error"]["code"] in {"not_authenticated", "invalid_token"}


def test_wrong_role_is_a_403_in_the_error_format(client, api_token):
    response = client.get("/api/v1/me/relatives", headers=api_token(factories.make_practitioner().user))
    assert_error(response, 403, "forbidden")


def test_rate_limit_is_a_429_in_the_error_format_with_retry_after(client):
    for _ in range(10):
        client.post("/api/v1/auth/token", json={"email": "x@example.com", "password": "nope"})
    response = client.post("/api/v1/auth/token", json={"email": "x@example.com", "password": "nope"})
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 61  # a one-minute window, rounded up


def test_error_messages_follow_the_callers_language(client):
    english = client.get("/api/v1/nothing-here", headers={"Accept-Language": "en"})
    french = client.get("/api/v1/nothing-here", headers={"Accept-Language": "fr"})
    assert english.json["error"]["message"] == "Not found."
    assert french.json["error"]["message"] == "Introuvable."


def test_a_refused_request_writes_nothing(client):
    body = {"role": "patient", "email": "a@example.com", "password": "une-phrase-2026",
            "first_name": "A", "last_name": "B", "birth_date": "2999-01-01"}
    assert_error(client.post("/api/v1/accounts", json=body), 422, "validation_error")
    assert db.session.query(User).count() == 0
