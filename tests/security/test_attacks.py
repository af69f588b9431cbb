"""One test per attack that the account pages and the API must withstand."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from werkzeug.routing.converters import AnyConverter

from tests import factories
from tests.audit.factories import log_in
from tests.conftest import csrf_token_of
from webapp.accounts.models import ApiToken, PatientProfile, User
from webapp.extensions import db, limiter
from webapp.urls import safe_next_url

OFF_SITE_TARGETS = [
    "https://evil.example/phish", "http:evil.example", "https:evil.example", "//evil.example",
    "///evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example", "/\n/evil.example",
    "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,<script>",
    "evil.example", "%2F%2Fevil.example", "\x00/evil",
]


def _post_rules(app):
    """Every page route that accepts a POST (the API uses bearer tokens, not cookies)."""
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith(("/api/", "/billing/stripe/")):
            yield rule


def _url_value(rule, name: str) -> str:
    converter = rule._converters[name]
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return "1" if name.endswith("id") else "x"


def _url_for_rule(rule) -> str:
    return rule.build({name: _url_value(rule, name) for name in rule.arguments})[1]


def test_there_are_form_routes_to_protect(app):
    protected = {rule.endpoint for rule in _post_rules(app)}
    assert {"accounts.login", "accounts.logout", "accounts.change_password", "accounts.reauthenticate",
            "accounts.reset_totp", "accounts.signup_patient", "accounts.forgot_password"} <= protected


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_every_form_post_without_csrf_token_is_refused(app, client, form_post, logged_in):
    if logged_in:
        log_in(form_post, factories.make_practitioner().user)
    users_before = db.session.scalar(sa.select(sa.func.count(User.id)))
    for rule in _post_rules(app):
        url = _url_for_rule(rule)
        for data in ({}, {"csrf_token": "forged-token"}):
            response = client.post(url, data=data | {"email": "x@example.com", "password": "une-phrase-2026"})
            assert response.status_code == 400, f"{url} accepted a post without a valid CSRF token"
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == users_before
    if logged_in:
        assert client.get("/account").status_code == 200  # the forged logout did nothing


def test_csrf_token_of_another_session_is_refused(app, client, form_post):
    other = app.test_client()
    token = csrf_token_of(other.get("/login").get_data(as_text=True))
    patient = factories.make_patient().account
    response = client.post("/login", data={"email": patient.email, "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 400


def test_brute_force_login_is_throttled_then_the_account_locked(app, form_post, client):
    patient = factories.make_patient().account
    attempts = [form_post("/login", {"email": patient.email, "password": f"guess-number-{n}"}) for n in range(11)]
    assert [r.status_code for r in attempts[:10]] == [200] * 10 and attempts[10].status_code == 429
    limiter.reset()  # the attacker waits a minute, or rotates addresses
    assert form_post("/login", {"email": patient.email, "password": factories.PASSWORD}).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, patient.id).locked_until is not None
    api = client.post("/api/v1/auth/token", json={"email": patient.email, "password": factories.PASSWORD})
    assert api.status_code == 429 and api.json["error"]["code"] == "account_locked"


def test_locked_account_opens_again_after_the_window(form_post, app):
    patient = factories.make_patient(user_overrides={
        "locked_until": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}).account
    assert form_post("/login", {"email": patient.email, "password": factories.PASSWORD}).status_code == 302


def test_brute_force_on_the_totp_code_locks_too(app, client, form_post):
    practitioner = factories.make_practitioner().user
    form_post("/login", {"email": practitioner.email, "password": factories.PASSWORD})
    for n in range(app.config["CARNET_LOGIN_LOCKOUT_ATTEMPTS"]):
        form_post("/login/code", {"code": f"{n:06d}"})
        limiter.reset()
    right_code = form_post("/login/code", {"code": factories.totp_now(practitioner)})
    assert right_code.status_code == 200 and "ce compte est bloqué" in right_code.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    response = form_post("/login", {"email": practitioner.email, "password": factories.PASSWORD})
    assert "ce compte est bloqué" in response.get_data(as_text=True)


def test_brute_force_token_requests_are_throttled(client):
    patient = factories.make_patient().account
    statuses = [client.post("/api/v1/auth/token", json={"email": patient.email, "password": f"guess-{n}-x"}).status_code
                for n in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429


@pytest.mark.parametrize("url, data, limit", [
    ("/signup/patient", {"first_name": "A", "last_name": "B", "birth_date": "1990-01-01",
                         "email": "not-an-email", "password": "une-phrase-2026"}, 10),
    ("/password/forgot", {"email": "nobody@example.com"}, 5),
    ("/password/reset/not-a-token", {"password": "une-phrase-2026"}, 10),
], ids=["signup", "password-forgot", "password-reset"])
def test_form_rate_limits(form_post, url, data, limit):
    statuses = [form_post(url, data).status_code for _ in range(limit + 1)]
    assert 429 not in statuses[:limit] and statuses[limit] == 429


def test_api_signup_rate_limit(client):
    statuses = [client.post("/api/v1/accounts", json={"role": "patient"}).status_code for _ in range(21)]
    assert statuses[:20] == [422] * 20 and statuses[20] == 429


def _token_for(client, user) -> dict:
    raw = client.post("/api/v1/auth/token", json={"email": user.email, "password": factories.PASSWORD}).json["token"]
    return {"Authorization": f"Bearer {raw}"}


def test_expired_token_is_refused(client):
    patient = factories.make_patient().account
    headers = _token_for(client, patient)
    db.session.execute(sa.update(ApiToken).values(expires_at=dt.datetime.now(dt.UTC)))
    db.session.commit()
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_token"


def test_revoked_token_is_refused(client):
    headers = _token_for(client, factories.make_patient().account)
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 401


def test_tokens_are_refused_after_a_password_change(client, form_post):
    patient = factories.make_patient().account
    headers = _token_for(client, patient)
    log_in(form_post, patient)
    form_post("/account/password", {"current_password": factories.PASSWORD, "password": "un-nouveau-2026",
                                    "confirm": "un-nouveau-2026"})
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_token_of_a_closed_account_is_refused(client):
    patient = factories.make_patient().account
    headers = _token_for(client, patient)
    patient.is_active_account = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


@pytest.mark.parametrize("header", [
    "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer ' OR '1'='1", "Bearer " + "x" * 5000,
])
def test_malformed_authorization_headers_are_refused(client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401 and "error" in response.json


@pytest.mark.parametrize("target", OFF_SITE_TARGETS)
def test_next_never_leaves_the_site(target):
    assert safe_next_url(target, "/") == "/"


@pytest.mark.parametrize("target", ["/account", "/search?q=dermatologue&city=Lyon", "/a/b#section"])
def test_next_keeps_paths_on_this_site(target):
    assert safe_next_url(target, "/") == target


@pytest.mark.parametrize("target", OFF_SITE_TARGETS[:10])
def test_login_and_language_switch_refuse_open_redirects(client, form_post, target):
    patient = factories.make_patient().account
    client.get("/login", query_string={"next": target})
    response = form_post("/login", {"email": patient.email, "password": factories.PASSWORD})
    assert response.headers["Location"] == "/"
    switched = form_post("/language/en", {"next": target}, page="/")
    assert switched.headers["Location"] == "/"


@pytest.mark.parametrize("email", ["' OR '1'='1' --", "admin@example.com' --", "x@example.com; DROP TABLE users;--"])
def test_sql_injection_in_login_email_is_just_a_wrong_login(form_post, client, email):
    factories.make_patient()
    response = form_post("/login", {"email": email, "password": "' OR '1'='1"})
    assert response.status_code == 200 and client.get("/account").status_code == 302
    api = client.post("/api/v1/auth/token", json={"email": email, "password": "' OR '1'='1"})
    assert api.status_code in (401, 422)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_sql_injection_in_signup_names_is_stored_as_text(form_post):
    name = "Robert'); DROP TABLE users;--"
    response = form_post("/signup/patient", {"first_name": name, "last_name": "O'Brien", "birth_date": "1990-01-01",
                                             "email": "bobby@example.com", "password": "une-phrase-2026"})
    assert response.status_code == 302
    profile = db.session.scalar(sa.select(PatientProfile))
    assert (profile.first_name, profile.last_name) == (name, "O'Brien")
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


XSS_NAME = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_xss_in_signup_names_is_rendered_escaped(form_post, client):
    form_post("/signup/patient", {"first_name": XSS_NAME, "last_name": '"><svg onload=alert(1)>',
                                  "birth_date": "1990-01-01", "email": "xss@example.com",
                                  "password": "une-phrase-2026"})
    html = client.get("/account").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_xss_in_a_refused_form_is_escaped_when_shown_back(form_post):
    response = form_post("/signup/patient", {"first_name": XSS_NAME, "last_name": "B", "birth_date": "1990-01-01",
                                             "email": "bad", "password": "une-phrase-2026"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<script>alert" not in html and "&lt;script&gt;" in html


def test_xss_in_practitioner_signup_fields_is_escaped(form_post, client):
    form_post("/signup/practitioner", {"first_name": XSS_NAME, "last_name": "Martin", "rpps": "99700218896",
                                       "specialty": "dermatologist", "address": "1 rue X", "postcode": "75011",
                                       "city": "Paris", "email": "claire@example.com", "password": "une-phrase-2026"})
    secret = re.search(r'class="secret">([A-Z2-7]+)<', client.get("/login/two-factor-setup").get_data(as_text=True))
    form_post("/login/two-factor-setup", {"code": factories.totp_code(secret.group(1))})
    html = client.get("/account").get_data(as_text=True)
    assert "Martin" in html and "<script>alert" not in html and "&lt;script&gt;alert" in html
