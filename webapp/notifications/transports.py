"""How messages leave Carnet: mail transports (console, SMTP) and SMS backends (console).

A transport opens one connection for many messages: `with transport.connection()
as connection: connection.send(mail, done)`, where `done` gets None once the
message is accepted or the `DeliveryError` that refused it, possibly at a
later `send`, at `connection.flush()` or when the block ends. A permanent
failure (the server refused for good, SMTP 5xx) is not retried.
"""

import dataclasses
import email
import email.policy
import logging
import re
import smtplib
from collections.abc import Callable
from contextlib import contextmanager, suppress
from typing import Protocol

from config import ConfigurationError

mail_log = logging.getLogger("carnet.mail")
sms_log = logging.getLogger("carnet.sms")


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


@dataclasses.dataclass(frozen=True)
class OutgoingMail:
    """The envelope (sender and recipient addresses) and the message as bytes."""

    sender: str
    to: str
    data: bytes


class ConsoleMailTransport:
    """The embedded default: each message is written to the `carnet.mail` log."""

    @contextmanager
    def connection(self):
        yield self

    @staticmethod
    def send(mail: OutgoingMail, done: Callable[[DeliveryError | None], None]) -> None:
        message = email.message_from_bytes(mail.data, policy=email.policy.default)
        text = message.get_body(("plain",))
        attachments = [part.get_filename() for part in message.iter_attachments()]
        mail_log.info("mail to %s\nSubject: %s\n%s%s", message["To"], message["Subject"],
                      text.get_content().strip() if text else "",
                      f"\nAttachments: {', '.join(attachments)}" if attachments else "")
        done(None)

    def flush(self) -> None:
        pass


class SmtpMailTransport:
    def __init__(self, *, host: str, port: int, user: str = "", password: str = "", starttls: bool = True,
                 timeout: float = 30):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.timeout = starttls, timeout

    @contextmanager
    def connection(self):
        session = _SmtpSession(self)
        try:
            yield session
        finally:
            session.close()


_LINE_STARTING_WITH_DOT = re.compile(rb"^\.", re.MULTILINE)
_PLAIN_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:@\"]+@[^\s<>()\[\]\\,;:@\"]+")


def _envelope_address(address: str) -> bytes:
    # What smtplib's quoteaddr gives, without parsing a plain address (12 µs a message).
    quoted = f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)
    return quoted.encode("ascii")


def _refused(code: int, reply: bytes, prefix: str = "") -> DeliveryError:
    return DeliveryError(f"{prefix}{code} {reply.decode(errors='replace')}", permanent=code >= 500)


class _SmtpSession:
    """One SMTP connection reused for a batch, opened on first use and reopened after the server drops it.

    `send(mail, done)` writes a message and returns without waiting for the
    server's verdict on it: `done(None)` (accepted) or `done(DeliveryError)`
    is called when that reply is read, at the next `send`, at `flush()` or
    at `close()`, so the sender renders the next message while the server
    reads this one. When the server offers PIPELINING (RFC 2920, as Postfix
    and the common relays do), MAIL, RCPT and DATA go in one write behind
    the previous message: one round trip per message instead of four."""

    def __init__(self, transport: SmtpMailTransport):
        self.transport = transport
        self.smtp: smtplib.SMTP | None = None
        self.pipelining = self.size = False
        self._sender: tuple[str, bytes] = ("", b"")
        self._waiting: Callable[[DeliveryError | None], None] | None = None  # of the message whose reply is unread

    def _connect(self) -> None:
        t = self.transport
        smtp = None
        try:
            smtp = smtplib.SMTP(t.host, t.port, timeout=t.timeout)
            if t.starttls:
                smtp.starttls()
            if t.user:
                smtp.login(t.user, t.password)
            smtp.ehlo_or_helo_if_needed()
        except BaseException as error:
            if smtp is not None:
                smtp.close()
            if isinstance(error, smtplib.SMTPResponseException):
                reply = error.smtp_error
                raise _refused(error.smtp_code, reply if isinstance(reply, bytes) else str(reply).encode()) from None
            if isinstance(error, smtplib.SMTPException | OSError):
                raise DeliveryError(f"{type(error).__name__}: {error}") from None
            raise
        self.smtp = smtp
        self.pipelining, self.size = smtp.has_extn("pipelining"), smtp.has_extn("size")

    def _broken(self, error: BaseException) -> DeliveryError:
        """The connection is lost: closed, and the message whose reply is unread fails (temporarily)."""
        self.smtp.close()
        self.smtp = None
        failure = DeliveryError(f"{type(error).__name__}: {error}")
        done, self._waiting = self._waiting, None
        if done is not None:
            done(failure)
        return failure

    def _write(self, data: bytes) -> None:
        try:
            self.smtp.send(data)
        except (smtplib.SMTPException, OSError) as error:
            raise self._broken(error) from None

    def _reply(self) -> tuple[int, bytes]:
        try:
            return self.smtp.getreply()
        except (smtplib.SMTPException, OSError) as error:
            raise self._broken(error) from None

    def send(self, mail: OutgoingMail, done: Callable[[DeliveryError | None], None]) -> None:
        try:
            if self.smtp is None:
                self._connect()
            if self._sender[0] != mail.sender:
                self._sender = (mail.sender, _envelope_address(mail.sender))
            size = b" SIZE=%d" % len(mail.data) if self.size else b""
            commands = (b"MAIL FROM:" + self._sender[1] + size + b"\r\n",
                        b"RCPT TO:" + _envelope_address(mail.to) + b"\r\n", b"DATA\r\n")
            if self.pipelining:
                self._write(b"".join(commands))
                self._read_verdict()
                replies = [self._reply() for _ in commands]
            else:
                self._read_verdict()
                replies = []
                for command, expected in zip(commands, ((250,), (250, 251), (354,)), strict=True):
                    self._write(command)
                    replies.append(self._reply())
                    if replies[-1][0] not in expected:
                        break
            self._check(replies)
            self._write(_LINE_STARTING_WITH_DOT.sub(b"..", mail.data)
                        + (b"" if mail.data.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        except DeliveryError as error:
            done(error)
        else:
            self._waiting = done

    def _check(self, replies: list[tuple[int, bytes]]) -> None:
        """Raise the first refusal among the replies to MAIL, RCPT and DATA, leaving the session ready for the next."""
        (mail_code, mail_reply), *rest = replies
        if mail_code != 250:
            refusal = _refused(mail_code, mail_reply)
        elif rest[0][0] not in (250, 251):
            refusal = _refused(*rest[0], prefix="recipient refused: ")
        elif rest[1][0] != 354:
            refusal = _refused(*rest[1])
        else:
            return
        if len(rest) == 2 and rest[1][0] == 354:
            # Pipelined: the server took DATA after refusing MAIL or RCPT; an empty message ends it (RFC 2920).
            self._write(b".\r\n")
            self._reply()
        self._write(b"RSET\r\n")
        self._reply()
        raise refusal

    def flush(self) -> None:
        """Read the server's verdict on the last message sent, if not read yet, and pass it on.
        A lost connection is passed on too (`_broken` fails that message): nothing is left to raise."""
        with suppress(DeliveryError):
            self._read_verdict()

    def _read_verdict(self) -> None:
        done = self._waiting
        if done is None:
            return
        code, reply = self._reply()
        self._waiting = None
        done(None if code == 250 else _refused(code, reply))

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self.smtp is not None:
                try:
                    self.smtp.quit()
                except (smtplib.SMTPException, OSError):
                    self.smtp.close()
                self.smtp = None


def mail_transport(config) -> ConsoleMailTransport | SmtpMailTransport:
    """The transport named by `CARNET_MAIL_TRANSPORT`."""
    name = config["CARNET_MAIL_TRANSPORT"]
    if name == "console":
        return ConsoleMailTransport()
    if name == "smtp":
        if not config["CARNET_SMTP_HOST"]:
            raise ConfigurationError("CARNET_SMTP_HOST must be set for the smtp mail transport.")
        return SmtpMailTransport(
            host=config["CARNET_SMTP_HOST"], port=config["CARNET_SMTP_PORT"], user=config["CARNET_SMTP_USER"],
            password=config["CARNET_SMTP_PASSWORD"], starttls=config["CARNET_SMTP_STARTTLS"],
        )
    raise ConfigurationError(f"Unknown CARNET_MAIL_TRANSPORT {name!r} (console or smtp).")


class SmsBackend(Protocol):
    """What an SMS provider must offer: send one text, raise `DeliveryError` on failure."""

    def send(self, to: str, text: str) -> None: ...


class ConsoleSmsBackend:
    """The default backend: each text is written to the `carnet.sms` log."""

    def send(self, to: str, text: str) -> None:
        sms_log.info("sms to %s: %s", to, text)


SMS_BACKENDS: dict[str, type] = {"console": ConsoleSmsBackend}


def sms_backend(config) -> SmsBackend:
    """The backend named by `CARNET_SMS_BACKEND`."""
    name = config["CARNET_SMS_BACKEND"]
    if name not in SMS_BACKENDS:
        raise ConfigurationError(f"Unknown CARNET_SMS_BACKEND {name!r} ({', '.join(SMS_BACKENDS)}).")
    return SMS_BACKENDS[name]()
