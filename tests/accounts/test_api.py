"""Accounts API: sign-up, tokens, TOTP, the caller's account, relatives."""

import pytest

from tests import factories
from webapp.accounts.models import ApiToken, Role, User
from webapp.extensions import db, limiter

PATIENT = {
    "role": "patient", "email": "Marie.Lambert@Example.com", "password": "une-phrase-2026",
    "first_name": "Marie", "last_name": "Lambert", "birth_date": "1986-04-12",
}
PRACTITIONER = {
    "role": "practitioner", "email": "claire.martin@example.com", "password": "une-phrase-2026",
    "first_name": "Claire", "last_name": "Martin", "rpps": "99700218896", "specialty": "general_practitioner",
    "address": "12 rue de la Roquette", "postcode": "75011", "city": "Paris",
}


def test_patient_signup_creates_account_and_own_profile(client):
    response = client.post("/api/v1/accounts", json=PATIENT)
    assert response.status_code == 201
    body = response.json
    assert body["role"] == "patient" and body["email"] == "marie.lambert@example.com"
    assert body["patient_id"] and "practitioner_id" not in body
    assert "totp_secret" not in body and "password" not in body
    user = db.session.get(User, body["id"])
    assert user.password_hash.startswith("$argon2id$")


def test_practitioner_signup_returns_totp_secret_once(client):
    response = client.post("/api/v1/accounts", json=PRACTITIONER)
    assert response.status_code == 201
    assert response.json["practitioner_id"]
    assert len(response.json["totp_secret"]) >= 16
    user = db.session.get(User, response.json["id"])
    assert user.role is Role.PRACTITIONER and user.totp_secret == response.json["totp_secret"]


@pytest.mark.parametrize(("change", "field"), [
    ({"email": "not-an-email"}, "email"),
    ({"password": "short1"}, "password"),
    ({"password": "aaaaaaaaaaaaaa"}, "password"),
    ({"birth_date": "2999-01-01"}, "birth_date"),
    ({"birth_date": "12/04/1986"}, "birth_date"),
    ({"first_name": ""}, "first_name"),
])
def test_patient_signup_refuses_bad_fields(client, change, field):
    response = client.post("/api/v1/accounts", json=PATIENT | change)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert field in response.json["error"]["fields"]
    assert db.session.query(User).count() == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"rpps": "99700218897"}, "rpps"),
    ({"rpps": "1234"}, "rpps"),
    ({"specialty": "astrologer"}, "specialty"),
    ({"postcode": "7501"}, "postcode"),
])
def test_practitioner_signup_refuses_bad_fields(client, change, field):
    response = client.post("/api/v1/accounts", json=PRACTITIONER | change)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_bad_rpps_gets_a_clear_message_in_the_callers_language(client):
    body = PRACTITIONER | {"rpps": "99700218897"}
    french = client.post("/api/v1/accounts", json=body)
    assert "clé de contrôle" in french.json["error"]["fields"]["rpps"][0]
    english = client.post("/api/v1/accounts", json=body, headers={"Accept-Language": "en"})
    assert "check digit" in english.json["error"]["fields"]["rpps"][0]


def test_practitioner_signup_requires_practice_fields(client):
    body = {key: value for key, value in PRACTITIONER.items() if key not in ("rpps", "city")}
    response = client.post("/api/v1/accounts", json=body)
    assert response.status_code == 422
    assert {"rpps", "city"} <= set(response.json["error"]["fields"])


def test_duplicate_email_is_a_conflict(client):
    assert client.post("/api/v1/accounts", json=PATIENT).status_code == 201
    response = client.post("/api/v1/accounts", json=PATIENT | {"email": "MARIE.lambert@example.com"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "email_taken"


def test_token_for_patient_and_me(client):
    client.post("/api/v1/accounts", json=PATIENT)
    response = client.post("/api/v1/auth/token", json={"email": PATIENT["email"], "password": PATIENT["password"]})
    assert response.status_code == 200
    token = response.json["token"]
    assert response.json["expires_at"].endswith("+00:00")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json["patient"]["first_name"] == "Marie"
    stored = db.session.query(ApiToken).one()
    assert stored.token_hash != token and token not in stored.token_hash
    assert stored.last_used_at is not None


def test_token_refuses_wrong_password(client):
    factories.make_patient(user_overrides={"email": "p@example.com"})
    response = client.post("/api/v1/auth/token", json={"email": "p@example.com", "password": "wrong-password-1"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_credentials"
    unknown = client.post("/api/v1/auth/token", json={"email": "nobody@example.com", "password": "x"})
    assert unknown.status_code == 401 and unknown.json["error"]["code"] == "invalid_credentials"


def test_practitioner_token_requires_valid_totp(client):
    practitioner = factories.make_practitioner()
    credentials = {"email": practitioner.user.email, "password": factories.PASSWORD}
    missing = client.post("/api/v1/auth/token", json=credentials)
    assert missing.status_code == 401 and missing.json["error"]["code"] == "totp_required"
    wrong = client.post("/api/v1/auth/token", json=credentials | {"totp": "000000"})
    assert wrong.status_code == 401 and wrong.json["error"]["code"] == "totp_required"
    good = client.post("/api/v1/auth/token", json=credentials | {"totp": factories.totp_now(practitioner.user)})
    assert good.status_code == 200


def test_a_code_opens_one_token(client):
    practitioner = factories.make_practitioner().user
    credentials = {"email": practitioner.email, "password": factories.PASSWORD,
                   "totp": factories.totp_now(practitioner)}
    assert client.post("/api/v1/auth/token", json=credentials).status_code == 200
    again = client.post("/api/v1/auth/token", json=credentials)
    assert again.status_code == 401 and again.json == {"error": {
        "code": "totp_required", "message": "Un code d'authentification à deux facteurs valide est nécessaire."}}
    db.session.expire_all()
    assert db.session.get(User, practitioner.id).failed_login_count == 1
    fresh = credentials | {"totp": factories.totp_now(practitioner)}
    assert client.post("/api/v1/auth/token", json=fresh).status_code == 200


def test_new_practitioner_uses_secret_from_signup(client):
    secret = client.post("/api/v1/accounts", json=PRACTITIONER).json["totp_secret"]
    response = client.post("/api/v1/auth/token", json={
        "email": PRACTITIONER["email"], "password": PRACTITIONER["password"], "totp": factories.totp_code(secret),
    })
    assert response.status_code == 200


def test_me_requires_a_valid_bearer_token(client):
    missing = client.get("/api/v1/me")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json["error"]["code"] == "not_authenticated"
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and bad.json["error"]["code"] == "invalid_token"


def test_revoked_token_is_refused(client, api_token):
    headers = api_token(factories.make_patient().account)
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_relatives_listed_and_added(client, api_token):
    patient = factories.make_patient()
    headers = api_token(patient.account)
    assert client.get("/api/v1/me/relatives", headers=headers).json == {"items": []}
    created = client.post("/api/v1/me/relatives", headers=headers,
                          json={"first_name": "Jules", "last_name": "Lambert", "birth_date": "2016-09-03"})
    assert created.status_code == 201 and created.json["id"]
    listed = client.get("/api/v1/me/relatives", headers=headers).json["items"]
    assert [relative["first_name"] for relative in listed] == ["Jules"]
    assert client.get("/api/v1/me", headers=headers).json["relatives"][0]["id"] == created.json["id"]


def test_relatives_refuse_bad_input_and_other_roles(client, api_token):
    headers = api_token(factories.make_patient().account)
    bad = client.post("/api/v1/me/relatives", headers=headers, json={"first_name": "Jules"})
    assert bad.status_code == 422
    practitioner_headers = api_token(factories.make_practitioner().user)
    assert client.get("/api/v1/me/relatives", headers=practitioner_headers).status_code == 403


def test_specialties_list_has_the_french_specialties(client):
    items = client.get("/api/v1/specialties", headers={"Accept-Language": "fr"}).json["items"]
    assert len(items) >= 40
    labels = {item["label"] for item in items}
    assert {"Médecin généraliste", "Pédiatre", "Dermatologue", "Masseur-kinésithérapeute"} <= labels


def test_account_lockout_after_repeated_failures(client, app):
    factories.make_patient(user_overrides={"email": "locked@example.com"})
    attempts = app.config["CARNET_LOGIN_LOCKOUT_ATTEMPTS"]
    for _ in range(attempts):
        client.post("/api/v1/auth/token", json={"email": "locked@example.com", "password": "wrong-password-1"})
        limiter.reset()  # stay under the per-IP rate limit: the lock-out itself must answer
    response = client.post("/api/v1/auth/token", json={"email": "locked@example.com", "password": factories.PASSWORD})
    assert response.status_code == 429
    assert response.json["error"]["code"] == "account_locked"


def test_token_endpoint_is_rate_limited(client):
    statuses = [
        client.post("/api/v1/auth/token", json={"email": "x@example.com", "password": "nope"}).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429
