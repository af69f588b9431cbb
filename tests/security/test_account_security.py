"""Account security pages: change password, re-authentication, moving 2FA."""

import re

import pytest
from flask import g, session
from flask_login import login_user

from tests import factories
from tests.audit.factories import log_in, recorded_actions, recorded_events
from webapp.accounts.errors import ReauthRequired
from webapp.accounts.models import ApiToken, Role, User
from webapp.accounts.sessions import REAUTH_AT, reauth_required
from webapp.db import now_utc
from webapp.extensions import db

NEW_PASSWORD = "un-nouveau-2026"


def change(form_post, current=factories.PASSWORD, new=NEW_PASSWORD, confirm=None):
    return form_post("/account/password", {"current_password": current, "password": new,
                                           "confirm": confirm if confirm is not None else new})


@pytest.mark.parametrize("path", ["/account/password", "/account/confirm", "/account/two-factor"])
def test_security_pages_need_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_password_change_revokes_tokens_and_keeps_this_session(client, form_post, api_token):
    patient = factories.make_patient().account
    headers = api_token(patient)
    log_in(form_post, patient)
    response = change(form_post)
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert "vos autres sessions sont fermées" in client.get("/account").get_data(as_text=True)
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert db.session.query(ApiToken).filter(ApiToken.revoked_at.is_(None)).count() == 0
    form_post("/logout", {}, page="/account")
    assert form_post("/login", {"email": patient.email, "password": NEW_PASSWORD}).status_code == 302
    assert recorded_actions()[:6] == ["login.success", "token.created", "login.success", "reauth.success",
                                      "password.changed", "token.revoked_all"]


@pytest.mark.parametrize("current, new, confirm, field, message", [
    ("wrong-password-1", NEW_PASSWORD, NEW_PASSWORD, "current_password", "Ce mot de passe est incorrect"),
    (factories.PASSWORD, NEW_PASSWORD, "something-else-1", "confirm", "Les deux nouveaux mots de passe"),
    (factories.PASSWORD, "short", "short", "password", "au moins 10 caractères"),
])
def test_password_change_errors_are_shown_next_to_the_field(form_post, current, new, confirm, field, message):
    patient = factories.make_patient().account
    password_hash = patient.password_hash
    log_in(form_post, patient)
    response = change(form_post, current, new, confirm)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f'id="{field}-error"' in html and message in html
    db.session.expire_all()
    assert db.session.get(User, patient.id).password_hash == password_hash


def test_guessing_the_current_password_locks_the_account_and_ends_the_session(app, client, form_post):
    from webapp.extensions import limiter

    patient = factories.make_patient().account
    log_in(form_post, patient)
    for _ in range(app.config["CARNET_LOGIN_LOCKOUT_ATTEMPTS"]):
        change(form_post, current="wrong-password-1")
        limiter.reset()
    response = change(form_post)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/account").status_code == 302
    assert [e.details["reason"] for e in recorded_events("reauth.failure")] == ["bad_password"] * 10
    assert len(recorded_events("login.locked")) == 1 and len(recorded_events("login.refused_locked")) == 1


def test_password_change_is_rate_limited(form_post):
    log_in(form_post, factories.make_patient().account)
    statuses = [change(form_post, current="wrong-password-1").status_code for _ in range(11)]
    assert statuses[-1] == 429


def _confirm(form_post, user, next_url="/account/two-factor", **overrides):
    data = {"password": factories.PASSWORD}
    if user.role.requires_totp:
        data["code"] = factories.totp_now(user)
    return form_post(f"/account/confirm?next={next_url}", data | overrides)


def test_moving_two_factor_needs_reauthentication_then_a_code_from_the_new_app(client, form_post):
    practitioner = factories.make_practitioner().user
    old_secret = practitioner.totp_secret
    log_in(form_post, practitioner)
    first = client.get("/account/two-factor")
    assert first.status_code == 302 and first.headers["Location"] == "/account/confirm?next=/account/two-factor"
    assert _confirm(form_post, practitioner).headers["Location"] == "/account/two-factor"
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'class="secret">([A-Z2-7]+)<', page).group(1)
    assert secret != old_secret and "<svg" in page
    wrong = form_post("/account/two-factor", {"secret": secret, "code": "000000"})
    assert wrong.status_code == 200 and secret in wrong.get_data(as_text=True)  # same QR code to retry
    done = form_post("/account/two-factor", {"secret": secret, "code": factories.totp_code(secret)})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, practitioner.id).totp_secret == secret
    assert recorded_actions()[-2:] == ["reauth.success", "totp.reset"]


def test_reauthentication_needs_the_totp_code_for_practitioners(form_post):
    practitioner = factories.make_practitioner().user
    log_in(form_post, practitioner)
    response = _confirm(form_post, practitioner, code="000000")
    assert response.status_code == 200 and 'id="code-error"' in response.get_data(as_text=True)
    assert recorded_events("reauth.failure")[0].details == {"reason": "bad_totp"}


def test_the_login_code_does_not_reauthenticate(form_post):
    practitioner = factories.make_practitioner().user
    login_code = factories.totp_now(practitioner)
    form_post("/login", {"email": practitioner.email, "password": factories.PASSWORD})
    assert form_post("/login/code", {"code": login_code}).status_code == 302
    reused = _confirm(form_post, practitioner, code=login_code)
    assert reused.status_code == 200 and 'id="code-error"' in reused.get_data(as_text=True)
    assert _confirm(form_post, practitioner).headers["Location"] == "/account/two-factor"


def test_patient_reauthenticates_with_the_password_only(client, form_post):
    patient = factories.make_patient().account
    log_in(form_post, patient)
    page = client.get("/account/confirm").get_data(as_text=True)
    assert 'name="password"' in page and 'name="code"' not in page
    wrong = _confirm(form_post, patient, password="wrong-password-1")
    assert "Ce mot de passe est incorrect" in wrong.get_data(as_text=True)
    assert _confirm(form_post, patient, next_url="/account").headers["Location"] == "/account"


def test_patients_have_no_two_factor_page(client, form_post):
    log_in(form_post, factories.make_patient().account)
    assert client.get("/account/two-factor").status_code == 404
    assert "deux facteurs" not in client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize("target",
                         ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"])
def test_reauthentication_never_redirects_off_site(form_post, target):
    patient = factories.make_patient().account
    log_in(form_post, patient)
    assert _confirm(form_post, patient, next_url=target).headers["Location"] == "/account"


def test_reauthentication_expires_after_the_window(app, client, form_post):
    staff = factories.make_staff()
    log_in(form_post, staff)
    _confirm(form_post, staff)
    assert client.get("/account/two-factor").status_code == 200
    with client.session_transaction() as browser_session:
        browser_session[REAUTH_AT] -= app.config["CARNET_REAUTH_MINUTES"] * 60 + 1
    assert client.get("/account/two-factor").headers["Location"].startswith("/account/confirm")


def test_tampered_secret_is_replaced_by_a_fresh_one(client, form_post):
    admin = factories.make_staff(role=Role.ADMIN)
    log_in(form_post, admin)
    _confirm(form_post, admin)
    response = form_post("/account/two-factor", {"secret": "../../etc/passwd", "code": "123456"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "passwd" not in html
    assert re.search(r'class="secret">[A-Z2-7]{32}<', html)


@reauth_required
def _sensitive_export():
    return "exported"


def test_reauth_decorator_on_pages(app):
    patient = factories.make_patient().account
    with app.test_request_context("/patients/1/export?format=pdf"):
        login_user(patient)
        refusal = _sensitive_export()
        assert refusal.status_code == 302
        assert refusal.headers["Location"] == "/account/confirm?next=/patients/1/export?format%3Dpdf"
        session[REAUTH_AT] = now_utc().timestamp()
        assert _sensitive_export() == "exported"


def test_reauth_decorator_on_the_api_wants_a_fresh_token(app, client, api_token):
    patient = factories.make_patient().account
    api_token(patient)
    token = db.session.query(ApiToken).one()
    with app.test_request_context("/api/v1/patients/1/notebook/export"):
        g.api_token = token
        assert _sensitive_export() == "exported"
        token.created_at = token.created_at.replace(year=2000)
        with pytest.raises(ReauthRequired):
            _sensitive_export()


def test_guessing_the_password_at_reauthentication_locks_the_account_and_ends_the_session(app, client, form_post):
    from webapp.extensions import limiter

    patient = factories.make_patient().account
    log_in(form_post, patient)
    for _ in range(app.config["CARNET_LOGIN_LOCKOUT_ATTEMPTS"]):
        assert form_post("/account/confirm", {"password": "wrong-password-1"}).status_code == 200
        limiter.reset()
    response = form_post("/account/confirm", {"password": factories.PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "ce compte est bloqué pour un moment" in client.get("/login").get_data(as_text=True)
    assert client.get("/account").status_code == 302
    assert len(recorded_events("login.refused_locked")) == 1
