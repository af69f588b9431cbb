"""Booking test fixtures: counting SQL statements, logging in through the pages, a real SMTP server."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests import factories
from tests.notifications.conftest import smtp, smtp_server  # noqa: F401  (the real SMTP server fixtures)
from webapp.extensions import db


@pytest.fixture
def count_queries(app):
    """`with count_queries() as statements:` collects every SQL statement sent."""

    @contextmanager
    def counting():
        statements: list[str] = []

        def record(connection, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)

    return counting


@pytest.fixture
def log_in(form_post):
    """Log a user in through the login pages (with a TOTP code where required)."""

    def login(user):
        response = form_post("/login", {"email": user.email, "password": factories.PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        if user.role.requires_totp:
            response = form_post("/login/code", {"code": factories.totp_now(user)})
            assert response.status_code == 302
        return user

    return login
