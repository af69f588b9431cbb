"""Account actions leave the expected audit events, web and API alike."""

import datetime as dt
import logging
import re

import sqlalchemy as sa

from tests import factories
from tests.audit.factories import log_in, recorded_actions, recorded_events
from webapp.accounts import registration
from webapp.accounts.models import ApiToken, Role
from webapp.audit.services import event_as_dict, verify_chain
from webapp.extensions import db
from webapp.notifications.sender import send_due_notifications
from webapp.transaction import transaction

PATIENT_SIGNUP = {
    "first_name": "Marie", "last_name": "Lambert", "birth_date": "1986-04-12",
    "email": "marie@example.com", "password": "une-phrase-2026",
}


def test_patient_signup_on_the_web(form_post):
    form_post("/signup/patient", PATIENT_SIGNUP)
    [event] = recorded_events("account.created")
    assert event.actor_role == "patient" and event.actor_id == int(event.target_id)
    assert event.details == {"role": "patient"} and event.ip == "127.0.0.1"


def test_practitioner_signup_and_first_token_by_api(client):
    created = client.post("/api/v1/accounts", json={
        "role": "practitioner", "email": "claire@example.com", "password": "une-phrase-2026",
        "first_name": "Claire", "last_name": "Martin", "rpps": "99700218896", "specialty": "dermatologist",
        "address": "1 rue X", "postcode": "75011", "city": "Paris",
    }).json
    code = factories.totp_code(created["totp_secret"])
    client.post("/api/v1/auth/token", json={"email": "claire@example.com", "password": "une-phrase-2026", "totp": code})
    assert recorded_actions() == ["account.created", "totp.enrolled", "login.success", "token.created"]
    token_event = recorded_events("token.created")[0]
    assert token_event.target_type == "api_token" and token_event.details == {"expires_hours": 720}
    assert recorded_events("login.success")[0].details == {"factors": "password_totp"}


def test_logins_and_logout_on_the_web(form_post):
    patient = factories.make_patient().account
    log_in(form_post, patient)
    form_post("/logout", {}, page="/account")
    practitioner = factories.make_practitioner().user
    log_in(form_post, practitioner)
    successes = recorded_events("login.success")
    assert [(e.actor_id, e.details["factors"]) for e in successes] == [
        (patient.id, "password"), (practitioner.id, "password_totp")]
    assert recorded_events("session.logout")[0].actor_id == patient.id


def test_failures_name_the_reason_but_never_the_typed_email(form_post, client):
    patient = factories.make_patient().account
    practitioner = factories.make_practitioner().user
    form_post("/login", {"email": "typo-marie@example.com", "password": "secret-guess-1"})
    form_post("/login", {"email": patient.email, "password": "wrong-password-1"})
    form_post("/login", {"email": practitioner.email, "password": factories.PASSWORD})
    form_post("/login/code", {"code": "000000"})
    failures = recorded_events("login.failure")
    assert [(e.target_id, e.details["reason"]) for e in failures] == [
        (None, "unknown_account"), (str(patient.id), "bad_password"), (str(practitioner.id), "bad_totp")]
    assert all(e.actor_id is None for e in failures)
    stored = repr([event_as_dict(event) for event in recorded_events()])
    assert "typo-marie" not in stored and "secret-guess" not in stored


def test_lockout_and_refused_attempts_on_web_and_api(app, form_post, client):
    from webapp.extensions import limiter

    patient = factories.make_patient().account
    for _ in range(app.config["CARNET_LOGIN_LOCKOUT_ATTEMPTS"]):
        form_post("/login", {"email": patient.email, "password": "wrong-password-1"})
        limiter.reset()
    form_post("/login", {"email": patient.email, "password": factories.PASSWORD})
    api = client.post("/api/v1/auth/token", json={"email": patient.email, "password": factories.PASSWORD})
    assert api.status_code == 429 and api.json["error"]["code"] == "account_locked"
    [locked] = recorded_events("login.locked")
    assert locked.target_id == str(patient.id) and locked.details == {"minutes": 15}
    assert len(recorded_events("login.refused_locked")) == 2


def test_totp_enrolment_on_the_web(form_post, client):
    practitioner = factories.make_practitioner(user_overrides={"totp_enabled_at": None}).user
    form_post("/login", {"email": practitioner.email, "password": factories.PASSWORD})
    form_post("/login/two-factor-setup", {"code": factories.totp_now(practitioner)})
    assert recorded_actions() == ["totp.enrolled"]


def test_password_reset_request_and_reset(form_post, client, api_token, caplog):
    patient = factories.make_patient().account
    api_token(patient)
    with caplog.at_level(logging.INFO, logger="carnet.mail"):
        form_post("/password/forgot", {"email": patient.email})
        form_post("/password/forgot", {"email": "nobody@example.com"})
        send_due_notifications()
    link = re.search(r"http://carnet\.test(/password/reset/\S+)", caplog.text).group(1)
    form_post(link, {"password": "un-nouveau-2026"})
    requested = recorded_events("password.reset_requested")
    assert [(e.target_id, e.details) for e in requested] == [(str(patient.id), {}),
                                                             (None, {"reason": "unknown_account"})]
    [changed] = recorded_events("password.changed")
    assert changed.details == {"method": "reset_link"} and changed.actor_id == patient.id
    [revoked] = recorded_events("token.revoked_all")
    assert revoked.details["count"] == 1


def test_token_revocation_and_refused_tokens_by_api(client, api_token):
    patient = factories.make_patient().account
    revoked_headers = api_token(patient)
    assert client.delete("/api/v1/auth/token", headers=revoked_headers).status_code == 204
    assert client.get("/api/v1/me", headers=revoked_headers).status_code == 401
    expired_headers = api_token(patient)
    db.session.execute(sa.update(ApiToken).where(ApiToken.revoked_at.is_(None))
                       .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    db.session.commit()
    assert client.get("/api/v1/me", headers=expired_headers).status_code == 401
    client.get("/api/v1/me", headers={"Authorization": "Bearer made-up-value"})
    assert [e.details["reason"] for e in recorded_events("token.refused")] == ["revoked", "expired"]
    [revoked] = recorded_events("token.revoked")
    assert revoked.actor_id == patient.id and revoked.target_type == "api_token"


def test_relative_added_and_staff_created(client, api_token, app):
    patient = factories.make_patient().account
    client.post("/api/v1/me/relatives", headers=api_token(patient),
                json={"first_name": "Jules", "last_name": "Lambert", "birth_date": "2016-09-03"})
    [added] = recorded_events("relative.added")
    assert added.actor_id == patient.id and added.target_type == "patient_profile"
    with app.test_request_context(), transaction():
        registration.create_staff(email="secretariat@example.com", password="une-phrase-2026", role=Role.STAFF)
    created = recorded_events("account.created")[-1]
    assert created.actor_id is None and created.details == {"role": "staff"}


def test_a_busy_day_leaves_an_intact_chain(form_post, client, api_token):
    patient = factories.make_patient().account
    log_in(form_post, patient)
    api_token(patient)
    form_post("/login", {"email": patient.email, "password": "wrong-password-1"})
    assert len(recorded_events()) >= 4 and verify_chain().is_intact
