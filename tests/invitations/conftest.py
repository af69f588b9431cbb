"""The invitation tests' cast, and the real SMTP server fixtures."""

import pytest

from tests.invitations.factories import make_desk
from tests.notifications.conftest import smtp, smtp_server  # noqa: F401  (the real SMTP server fixtures)


@pytest.fixture
def desk():
    return make_desk()
