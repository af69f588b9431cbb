"""A real SMTP server on a loopback port (aiosmtpd) and the app switched to it."""

import contextlib
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
    (e.g. "451 ..." to make the sender retry), `recipient_replies` to RCPT.
    Offers PIPELINING as the common relays do, unless told otherwise."""

    def __init__(self, *, pipelining: bool = True):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.sessions: set[int] = set()
        self.replies: list[str] = []
        self.recipient_replies: list[str] = []
        self.pipelining = pipelining

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]] if self.pipelining else responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.recipient_replies:
            return self.recipient_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.sessions.add(id(session))
        if self.replies:
            return self.replies.pop(0)
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted"


@contextlib.contextmanager
def serving(*, pipelining: bool = True):
    """A recording SMTP server on a free loopback port: (handler, port)."""
    handler = RecordingHandler(pipelining=pipelining)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    with serving() as server:
        yield server


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
