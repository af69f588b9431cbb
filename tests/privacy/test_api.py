"""Privacy API: GET /api/v1/me/export and DELETE /api/v1/me (patients, fresh token)."""

import datetime as dt
import io
import zipfile

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import local_start, make_appointment
from tests.privacy.factories import make_household
from webapp.accounts.models import ApiToken, Role
from webapp.extensions import db


def _age_tokens(app) -> None:
    """Make every token older than the re-authentication window."""
    for token in db.session.scalars(sa.select(ApiToken)):
        token.created_at -= dt.timedelta(minutes=app.config["CARNET_REAUTH_MINUTES"] + 1)
    db.session.commit()


def test_patient_downloads_the_archive(client, api_token):
    household = make_household()
    response = client.get("/api/v1/me/export", headers=api_token(household.account))
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert "account.json" in archive.namelist()


def test_export_and_closing_need_a_fresh_token(app, client, api_token):
    household = make_household()
    headers = api_token(household.account)
    _age_tokens(app)
    for method, url in (("get", "/api/v1/me/export"), ("delete", "/api/v1/me")):
        response = getattr(client, method)(url, headers=headers)
        assert response.status_code == 401 and response.json["error"]["code"] == "reauth_required"


@pytest.mark.parametrize("role", [Role.PRACTITIONER, Role.STAFF, Role.ADMIN])
def test_other_roles_are_refused(client, api_token, role):
    user = factories.make_practitioner().user if role is Role.PRACTITIONER else factories.make_staff(role=role)
    headers = api_token(user)
    assert client.get("/api/v1/me/export", headers=headers).status_code == 403
    assert client.delete("/api/v1/me", headers=headers).status_code == 403


def test_anonymous_is_refused(client):
    assert client.get("/api/v1/me/export").status_code == 401
    assert client.delete("/api/v1/me").status_code == 401


def test_closing_revokes_the_token_and_frees_the_email(client, api_token):
    household = make_household()
    email = household.account.email
    headers = api_token(household.account)
    assert client.delete("/api/v1/me", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    refused = client.post("/api/v1/auth/token", json={"email": email, "password": factories.PASSWORD})
    assert refused.status_code == 401
    signup = client.post("/api/v1/accounts", json={
        "role": "patient", "email": email, "password": factories.PASSWORD, "first_name": "Lucie",
        "last_name": "Moreau", "birth_date": "1990-05-17"})
    assert signup.status_code == 201


def test_closing_with_upcoming_appointments_is_a_conflict(client, api_token):
    household = make_household()
    make_appointment(household.practitioner, household.own, local_start(4))
    response = client.delete("/api/v1/me", headers=api_token(household.account))
    assert response.status_code == 409 and response.json["error"]["code"] == "upcoming_appointments"
    assert client.get("/api/v1/me", headers=api_token(household.account)).status_code == 200


def test_both_operations_are_documented(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert paths["/api/v1/me/export"]["get"]["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "409"} <= set(paths["/api/v1/me"]["delete"]["responses"])
    assert "get" in paths["/api/v1/me"]
