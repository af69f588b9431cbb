"""Billing fixtures: a running Stripe stand-in (logging in and counting queries: tests/conftest.py)."""

import pytest

from tests.billing.stripe_standin import RunningStandIn
from tests.notifications.conftest import smtp, smtp_server  # noqa: F401  (the real SMTP server fixtures)

STRIPE_SECRET_KEY = "sk_test_carnet_standin"
STRIPE_WEBHOOK_SECRET = "whsec_carnet_test_secret"


@pytest.fixture
def stripe_config(app, monkeypatch):
    """The app configured for Stripe (webhook secret and price ids), no server."""
    for name, value in {
        "CARNET_BILLING_PROVIDER": "stripe",
        "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
        "STRIPE_PRICE_ID": "price_test_practitioner",
        "STRIPE_CLINIC_PRICE_ID": "price_test_clinic",
    }.items():
        monkeypatch.setitem(app.config, name, value)
    return app.config


@pytest.fixture
def stripe_server(stripe_config, monkeypatch):
    """A Stripe stand-in on a loopback port, with `STRIPE_API_BASE` pointing at it."""
    with RunningStandIn(STRIPE_SECRET_KEY) as server:
        monkeypatch.setitem(stripe_config, "STRIPE_API_BASE", server.base_url)
        yield server.api
