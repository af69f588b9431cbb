"""Secrets and shared stores come from the environment; production refuses unsafe ones."""

import subprocess
import sys

import pytest
from limits.storage import RedisStorage, storage_from_string

from config import DEVELOPMENT_ENCRYPTION_KEY, DEVELOPMENT_SECRET_KEY, PROJECT_ROOT, ConfigurationError, load_settings
from tests.notifications.conftest import free_port
from webapp import create_app
from webapp.accounts.passwords import hash_password


def test_production_starts_with_real_secrets(production_env):
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


@pytest.mark.parametrize("name, value, complaint", [
    ("SECRET_KEY", DEVELOPMENT_SECRET_KEY, "SECRET_KEY must be set"),
    ("SECRET_KEY", "short-secret", "at least 32"),
    ("CARNET_ENCRYPTION_KEYS", DEVELOPMENT_ENCRYPTION_KEY, "CARNET_ENCRYPTION_KEYS must be set"),
    ("CARNET_ENCRYPTION_KEYS", "q2bbRV3ZcLUSxWpfr6s1B0uXoDNB4kQ0BH5I4P5Bw6E=," + DEVELOPMENT_ENCRYPTION_KEY,
     "CARNET_ENCRYPTION_KEYS must be set"),
    ("CARNET_ENCRYPTION_KEYS", " , ", "CARNET_ENCRYPTION_KEYS must be set"),
    ("CARNET_ENCRYPTION_KEYS", "not-a-fernet-key", "Fernet keys"),
    ("DATABASE_URL", "sqlite:///tmp/carnet.sqlite3", "PostgreSQL"),
    ("CARNET_MAIL_TRANSPORT", "console", "smtp"),
])
def test_production_refuses_unsafe_settings(production_env, name, value, complaint):
    production_env.setenv(name, value)
    with pytest.raises(ConfigurationError, match=complaint):
        create_app()


def test_production_refuses_a_missing_secret_key(production_env):
    production_env.delenv("SECRET_KEY")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app()


def test_development_keeps_its_embedded_defaults(monkeypatch):
    monkeypatch.delenv("CARNET_ENV", raising=False)
    settings = load_settings()
    assert settings["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY and settings["SESSION_COOKIE_SECURE"] is False


def test_rate_limit_store_comes_from_the_environment(monkeypatch):
    assert load_settings()["RATELIMIT_STORAGE_URI"] == "memory://"
    monkeypatch.setenv("CARNET_RATELIMIT_STORAGE", "redis://redis.internal:6379/2")
    uri = load_settings()["RATELIMIT_STORAGE_URI"]
    assert uri == "redis://redis.internal:6379/2"
    assert isinstance(storage_from_string(uri), RedisStorage)  # the client library is installed


def test_session_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CARNET_SESSION_LIFETIME_HOURS", "8")
    monkeypatch.setenv("CARNET_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("CARNET_PATIENT_SESSION_LIFETIME_HOURS", "48")
    monkeypatch.setenv("CARNET_REAUTH_MINUTES", "5")
    settings = load_settings()
    assert (settings["CARNET_SESSION_LIFETIME_HOURS"], settings["CARNET_SESSION_IDLE_MINUTES"]) == (8, 15)
    assert settings["PERMANENT_SESSION_LIFETIME"].total_seconds() == 48 * 3600
    assert settings["CARNET_REAUTH_MINUTES"] == 5


def test_passwords_are_hashed_at_argon2s_recommended_costs_outside_the_tests():
    app = create_app()
    with app.app_context():
        assert "$argon2id$v=19$m=65536,t=3,p=4$" in hash_password("un-mot-de-passe-2026")


# In a process of its own: the limiter is one object per process, and this app would re-point it.
FALLBACK_CHECK = """
import sys
from webapp import create_app
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1], "RATELIMIT_STORAGE_URI": sys.argv[2],
                  "WTF_CSRF_ENABLED": False})
client = app.test_client()
form = {"email": "nobody@example.com", "password": "wrong-password-1"}
print(*(client.post("/login", data=form).status_code for _ in range(11)))
"""


def test_limits_still_hold_per_process_while_the_shared_store_is_down(app):
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    result = subprocess.run([sys.executable, "-c", FALLBACK_CHECK, app.config["SQLALCHEMY_DATABASE_URI"], unreachable],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["200"] * 10 + ["429"], result.stderr


def test_production_refuses_to_seed_the_demo_world(production_env):
    production = create_app()
    with production.app_context():
        result = production.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "production" in result.output
