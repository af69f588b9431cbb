"""Booking test fixtures: an open practice, a real SMTP server. Logging in,
counting queries, a clinic and running inside a request: tests/conftest.py."""

import pytest

from tests.booking.factories import open_practice
from tests.notifications.conftest import smtp, smtp_server  # noqa: F401  (the real SMTP server fixtures)


@pytest.fixture
def practice():
    """(practitioner, visit reason) open 08:00-20:00 every day; a module may override it."""
    return open_practice()
