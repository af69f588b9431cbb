"""How messages leave Carnet: mail transports (console, SMTP) and SMS backends (console).

A transport opens one connection for many messages: `with transport.connection()
as send: send(mail)`. Failures raise `DeliveryError`; a permanent one (the
server refused for good, SMTP 5xx) is not retried.
"""

import dataclasses
import email
import email.policy
import logging
import smtplib
from contextlib import contextmanager
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
        yield self._send

    @staticmethod
    def _send(mail: OutgoingMail) -> None:
        message = email.message_from_bytes(mail.data, policy=email.policy.default)
        text = message.get_body(("plain",))
        attachments = [part.get_filename() for part in message.iter_attachments()]
        mail_log.info("mail to %s\nSubject: %s\n%s%s", message["To"], message["Subject"],
                      text.get_content().strip() if text else "",
                      f"\nAttachments: {', '.join(attachments)}" if attachments else "")


class SmtpMailTransport:
    def __init__(self, *, host: str, port: int, user: str = "", password: str = "", starttls: bool = True,
                 timeout: float = 30):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.timeout = starttls, timeout

    @contextmanager
    def connection(self):
        session = _SmtpSession(self)
        try:
            yield session.send
        finally:
            session.close()


class _SmtpSession:
    """One SMTP connection reused for a batch, opened on first use and
    reopened after the server drops it."""

    def __init__(self, transport: SmtpMailTransport):
        self.transport = transport
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        t = self.transport
        smtp = smtplib.SMTP(t.host, t.port, timeout=t.timeout)
        try:
            if t.starttls:
                smtp.starttls()
            if t.user:
                smtp.login(t.user, t.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, mail: OutgoingMail) -> None:
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            self.smtp.sendmail(mail.sender, [mail.to], mail.data)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            detail = "; ".join(f"{code} {reply.decode(errors='replace')}" for code, reply in error.recipients.values())
            raise DeliveryError(f"recipient refused: {detail}", permanent=all(code >= 500 for code in codes)) from None
        except smtplib.SMTPResponseException as error:
            reply = (error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes)
                     else error.smtp_error)
            if isinstance(error, smtplib.SMTPAuthenticationError):
                self.close()
            raise DeliveryError(f"{error.smtp_code} {reply}", permanent=error.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise DeliveryError(f"{type(error).__name__}: {error}") from None

    def close(self) -> None:
        if self.smtp is None:
            return
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
