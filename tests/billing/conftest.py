"""Billing fixtures: logging in through the pages, a running Stripe stand-in."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests import factories
from tests.billing.stripe_standin import RunningStandIn
from tests.notifications.conftest import smtp, smtp_server  # noqa: F401  (the real SMTP server fixtures)
from webapp.extensions import db

STRIPE_SECRET_KEY = "sk_test_carnet_standin"
STRIPE_WEBHOOK_SECRET = "whsec_carnet_test_secret"


@pytest.fixture
def login(form_post):
    """Log a user in through the login pages (with their TOTP code if needed)."""

    def log_in(user):
        response = form_post("/login", {"email": user.email, "password": factories.PASSWORD})
        assert response.status_code == 302
        if user.role.requires_totp:
            assert form_post("/login/code", {"code": factories.totp_now(user)}).status_code == 302

    return log_in


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


@pytest.fixture
def count_queries(app):
    """Count the SQL statements run inside a `with count_queries() as counted:` block."""

    @contextmanager
    def counting():
        counted = []

        def record(conn, cursor, statement, parameters, context, executemany):
            counted.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield counted
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)

    return counting
