"""Fixtures of the security tests: an app in production mode."""

import pytest

from webapp import create_app

PRODUCTION_ENV = {
    "CARNET_ENV": "production",
    "SECRET_KEY": "a-long-random-production-secret-0123456789",
    "CARNET_ENCRYPTION_KEYS": "q2bbRV3ZcLUSxWpfr6s1B0uXoDNB4kQ0BH5I4P5Bw6E=",
    "DATABASE_URL": "postgresql+psycopg://carnet@127.0.0.1:1/carnet",
    "CARNET_MAIL_TRANSPORT": "smtp",
    "CARNET_SMTP_HOST": "127.0.0.1",
}


@pytest.fixture
def production_env(monkeypatch):
    """The environment of a correctly configured production node."""
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.fixture
def production_client(production_env):
    """A production-mode app; the pages used with it never reach the database."""
    return create_app({"TESTING": True}).test_client()
