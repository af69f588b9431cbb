"""Bearer tokens: hashed at rest, expiring, revocable, listed for their owner."""

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from tests import factories
from webapp.accounts import api_tokens, password_changes
from webapp.accounts.models import ApiToken
from webapp.audit.models import AuditEvent
from webapp.audit.services import record_event
from webapp.db import now_utc
from webapp.errors import NotAuthenticated
from webapp.extensions import db
from webapp.transaction import transaction


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def issue_token(client, user) -> str:
    body = {"email": user.email, "password": factories.PASSWORD}
    if user.totp_secret:
        body["totp"] = factories.totp_now(user)
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 200, response.json
    return response.json["token"]


@pytest.fixture
def patient_user():
    return factories.make_patient().account


def test_database_holds_only_a_digest_that_is_no_usable_token(client, patient_user):
    raw = issue_token(client, patient_user)
    stored = db.session.scalars(sa.select(ApiToken)).one()
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    row = db.session.execute(sa.select(ApiToken.__table__)).one()
    assert all(raw not in str(value) for value in row)
    stolen = client.get("/api/v1/me", headers=bearer(stored.token_hash))
    assert stolen.status_code == 401 and stolen.json["error"]["code"] == "invalid_token"


def test_expired_token_is_refused(client, patient_user):
    raw = issue_token(client, patient_user)
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200
    db.session.execute(sa.update(ApiToken).values(expires_at=now_utc() - dt.timedelta(seconds=1)))
    db.session.commit()
    response = client.get("/api/v1/me", headers=bearer(raw))
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_token"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_token_lifetime_follows_the_setting(client, app, patient_user):
    before = now_utc()
    issue_token(client, patient_user)
    token = db.session.scalars(sa.select(ApiToken)).one()
    lifetime = dt.timedelta(hours=app.config["CARNET_API_TOKEN_HOURS"])
    assert before + lifetime <= token.expires_at <= now_utc() + lifetime


def test_revoking_the_current_token_leaves_the_others_working(client, patient_user):
    phone, laptop = issue_token(client, patient_user), issue_token(client, patient_user)
    assert client.delete("/api/v1/auth/token", headers=bearer(phone)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(phone)).status_code == 401
    assert client.delete("/api/v1/auth/token", headers=bearer(phone)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(laptop)).status_code == 200


def test_password_change_revokes_every_token_of_the_account(client, patient_user):
    other_user = factories.make_patient().account
    tokens = [issue_token(client, patient_user) for _ in range(2)]
    other = issue_token(client, other_user)
    with transaction():
        password_changes.change_password(db.session.merge(patient_user), "une-toute-nouvelle-phrase-7")
    for raw in tokens:
        assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200


def test_password_reset_by_email_link_revokes_every_token(client, form_post, patient_user):
    raw = issue_token(client, patient_user)
    link = f"/password/reset/{password_changes.password_reset_token(patient_user)}"
    response = form_post(link, {"password": "une-toute-nouvelle-phrase-7",
                                "password_confirm": "une-toute-nouvelle-phrase-7"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 401


def test_deactivated_account_token_is_refused(client, patient_user):
    raw = issue_token(client, patient_user)
    db.session.merge(patient_user).is_active_account = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 401


def test_last_use_is_recorded(client, patient_user):
    raw = issue_token(client, patient_user)
    assert db.session.scalars(sa.select(ApiToken)).one().last_used_at is None
    before = now_utc()
    client.get("/api/v1/me", headers=bearer(raw))
    db.session.expire_all()
    last_used = db.session.scalars(sa.select(ApiToken)).one().last_used_at
    assert last_used is not None and before <= last_used <= now_utc()


def test_last_use_is_recorded_to_the_minute(client, patient_user):
    raw = issue_token(client, patient_user)
    client.get("/api/v1/me", headers=bearer(raw))
    db.session.expire_all()
    token = db.session.scalars(sa.select(ApiToken)).one()
    first_use = token.last_used_at
    client.get("/api/v1/me", headers=bearer(raw))
    db.session.expire_all()
    assert token.last_used_at == first_use  # a second call within the minute writes nothing
    a_while_ago = now_utc() - api_tokens.API_TOKEN_LAST_USE_PRECISION
    token.last_used_at = a_while_ago
    db.session.commit()
    client.get("/api/v1/me", headers=bearer(raw))
    db.session.expire_all()
    assert token.last_used_at > a_while_ago


def test_last_use_is_recorded_even_when_the_role_is_refused(client):
    practitioner = factories.make_practitioner().user
    raw = issue_token(client, practitioner)
    assert client.get("/api/v1/me/relatives", headers=bearer(raw)).status_code == 403
    assert db.session.scalars(sa.select(ApiToken)).one().last_used_at is not None


def test_token_list_shows_live_tokens_without_their_value(client, patient_user):
    first = issue_token(client, patient_user)
    second = issue_token(client, patient_user)
    revoked = issue_token(client, patient_user)
    client.delete("/api/v1/auth/token", headers=bearer(revoked))
    issue_token(client, factories.make_patient().account)  # another account's
    response = client.get("/api/v1/me/tokens", headers=bearer(second))
    assert response.status_code == 200
    body = response.json
    assert body["total"] == 2 and body["page"] == 1 and body["per_page"] == 20
    assert [item["current"] for item in body["items"]] == [True, False]  # newest first
    assert set(body["items"][0]) == {"id", "created_at", "expires_at", "last_used_at", "current"}
    text = response.get_data(as_text=True)
    assert first not in text and second not in text


def test_revoking_a_lost_phones_token_by_id(client, patient_user):
    phone, laptop = issue_token(client, patient_user), issue_token(client, patient_user)
    items = client.get("/api/v1/me/tokens", headers=bearer(laptop)).json["items"]
    phone_id = next(item["id"] for item in items if not item["current"])
    assert client.delete(f"/api/v1/me/tokens/{phone_id}", headers=bearer(laptop)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(phone)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(laptop)).status_code == 200
    again = client.delete(f"/api/v1/me/tokens/{phone_id}", headers=bearer(laptop))
    assert again.status_code == 404 and again.json["error"]["code"] == "not_found"


def test_another_accounts_token_cannot_be_revoked_and_does_not_leak(client, patient_user):
    victim = factories.make_practitioner().user
    victim_token = issue_token(client, victim)
    victim_id = db.session.scalars(sa.select(ApiToken.id).where(ApiToken.user_id == victim.id)).one()
    mine = issue_token(client, patient_user)
    response = client.delete(f"/api/v1/me/tokens/{victim_id}", headers=bearer(mine))
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(victim_token)).status_code == 200
    assert client.delete("/api/v1/me/tokens/999999", headers=bearer(mine)).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/me/tokens", "/api/v1/me/tokens/1"])
def test_token_endpoints_require_authentication(client, path):
    method = client.get if path.endswith("tokens") else client.delete
    response = method(path)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


def test_a_refused_token_keeps_its_audit_row_and_nothing_else(client, patient_user):
    raw = issue_token(client, patient_user)
    token = db.session.scalars(sa.select(ApiToken)).one()
    token.revoked_at = now_utc()
    db.session.commit()
    response = client.get("/api/v1/me", headers=bearer(raw))
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_token"
    db.session.expire_all()  # what another request sees: committed rows only
    [refused] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "token.refused")).all()
    assert refused.target_id == str(token.id) and refused.details == {"reason": "revoked"}
    assert token.last_used_at is None


def test_an_authenticator_error_that_keeps_no_writes_leaves_nothing(app, client, patient_user, monkeypatch):
    # The API layer's own rule, whatever the registered authenticator: only an
    # error declaring `keeps_writes` has its writes committed.
    raw = issue_token(client, patient_user)
    authenticate = app.extensions["carnet_token_authenticator"]

    def authenticate_then_fail(value):
        record_event("token.refused", target_type="api_token", target_id=0, details={"reason": "test"})
        authenticate(value).last_used_at = now_utc()
        raise NotAuthenticated()

    monkeypatch.setitem(app.extensions, "carnet_token_authenticator", authenticate_then_fail)
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 401
    db.session.expire_all()
    assert db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "token.refused")).all() == []
    assert db.session.scalars(sa.select(ApiToken)).one().last_used_at is None
