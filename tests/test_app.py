"""The app as a whole: health check, error format, headers, language, migrations."""

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from config import ConfigurationError
from webapp import create_app
from webapp.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_unknown_api_path_and_method_use_the_error_format(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong_method = client.put("/api/v1/me")
    assert wrong_method.status_code == 405 and wrong_method.json["error"]["code"] == "method_not_allowed"


def test_malformed_json_is_a_400_in_the_error_format(client):
    response = client.post("/api/v1/accounts", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_request"


def test_unknown_page_is_an_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "text/html" in response.content_type


def test_security_headers_on_pages(client):
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_home_page_in_french_by_default_and_english_on_request(client):
    assert "Prenez rendez-vous" in client.get("/").get_data(as_text=True)
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "Book a visit with a practitioner" in english and 'lang="en"' in english


def test_language_switch_is_remembered(form_post, client):
    form_post("/language/en", {"next": "/"}, page="/")
    assert "Book a visit" in client.get("/").get_data(as_text=True)


def test_session_cookie_flags(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_production_refuses_development_secrets(monkeypatch):
    monkeypatch.setenv("CARNET_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://carnet@127.0.0.1/carnet")
    try:
        create_app()
    except ConfigurationError as error:
        assert "SECRET_KEY" in str(error)
    else:
        raise AssertionError("production started with the development secret key")


def test_migrations_match_the_models(app):
    """The schema built by the revisions from empty is exactly the models' schema."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []
        tables = set(sa.inspect(connection).get_table_names())
    assert set(db.metadata.tables) <= tables


def test_every_message_has_a_french_translation():
    result = subprocess.run([sys.executable, "scripts/i18n.py", "check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
