"""Billing settings are checked when the app starts."""

import pytest
from cryptography.fernet import Fernet

from config import ConfigurationError
from webapp import create_app


@pytest.mark.parametrize(("variable", "value"), [
    ("CARNET_BILLING_PROVIDER", "paypal"),
    ("CARNET_VAT_RATE", "vingt"),
    ("CARNET_VAT_RATE", "120"),
])
def test_bad_billing_settings_refuse_to_start(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=variable):
        create_app()


def test_stripe_in_production_needs_its_keys(monkeypatch):
    monkeypatch.setenv("CARNET_BILLING_PROVIDER", "stripe")
    with pytest.raises(ConfigurationError, match="STRIPE_SECRET_KEY"):
        create_app({"CARNET_ENV": "production", "SECRET_KEY": "x" * 32,
                    "CARNET_ENCRYPTION_KEYS": [Fernet.generate_key().decode()],
                    "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://carnet@127.0.0.1/carnet",
                    "CARNET_MAIL_TRANSPORT": "smtp"})
