"""HTTP hardening: headers, cookies, caching, trusted proxies, production mode."""

import pytest
from flask import Flask, request

from tests import factories
from tests.audit.factories import log_in, recorded_events
from webapp.security import trust_proxies


@pytest.mark.parametrize("path", ["/", "/login", "/api/v1/specialties", "/api/v1/nothing"])
def test_every_answer_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    csp = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'self'"
    assert "unsafe" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(client):
    with client.get("/static/css/carnet.css") as response:
        assert response.status_code == 200 and "no-store" not in response.headers.get("Cache-Control", "")


def test_no_hsts_in_development(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_production_sends_hsts_and_a_secure_host_only_cookie(production_client):
    response = production_client.get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie


def test_session_cookie_is_httponly_and_samesite_after_login(form_post, client):
    patient = factories.make_patient().account
    response = log_in(form_post, patient)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires=" in cookie  # a permanent session, bounded by the server-side limits


def test_inline_scripts_and_styles_are_absent_from_pages(client, form_post):
    """The strict CSP would block them: pages must not rely on any."""
    log_in(form_post, factories.make_staff(role=factories.Role.ADMIN))
    for path in ("/", "/login", "/signup/patient", "/account", "/account/password", "/admin/audit"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html and "onclick=" not in html, path


def test_forwarded_headers_are_ignored_without_trusted_proxies(form_post):
    form_post("/login", {"email": "nobody@example.com", "password": "wrong-password-1"})
    [event] = recorded_events("login.failure")
    assert event.ip == "127.0.0.1"


def _address_app(hops: int) -> Flask:
    app = Flask(__name__)
    app.config["CARNET_PROXY_HOPS"] = hops
    trust_proxies(app)
    app.add_url_rule("/ip", "ip", lambda: f"{request.remote_addr} {request.scheme}")
    return app


@pytest.mark.parametrize("hops, expected", [(0, "127.0.0.1 http"), (1, "198.51.100.9 https")])
def test_client_address_comes_from_trusted_proxies_only(hops, expected):
    headers = {"X-Forwarded-For": "203.0.113.66, 198.51.100.9", "X-Forwarded-Proto": "https"}
    assert _address_app(hops).test_client().get("/ip", headers=headers).get_data(as_text=True) == expected
