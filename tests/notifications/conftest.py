"""A real SMTP server on a loopback port (aiosmtpd) and the app switched to it."""

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingHandler:
    """Keeps every accepted message; answers the queued `replies` to DATA first
    (e.g. "451 ..." to make the sender retry)."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.sessions: set[int] = set()
        self.replies: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.sessions.add(id(session))
        if self.replies:
            return self.replies.pop(0)
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def smtp(app, smtp_server):
    """The app sends through the test SMTP server; yields its recording handler."""
    handler, port = smtp_server
    saved = {name: app.config[name] for name in ("CARNET_MAIL_TRANSPORT", "CARNET_SMTP_HOST", "CARNET_SMTP_PORT",
                                                 "CARNET_SMTP_STARTTLS", "CARNET_MAIL_FROM")}
    app.config.update(CARNET_MAIL_TRANSPORT="smtp", CARNET_SMTP_HOST="127.0.0.1", CARNET_SMTP_PORT=port,
                      CARNET_SMTP_STARTTLS=False, CARNET_MAIL_FROM="Carnet <no-reply@carnet.test>")
    try:
        yield handler
    finally:
        app.config.update(saved)
