"""The cost of writing one outgoing email: the hand-written MIME encoder against the standard library.

`python -m bench.mime_encoder` renders a reminder like the outbox sender does,
then times, in CPU microseconds per message, `notifications.mime.email_bytes`
(what the sender uses) and the same message built with `email.message.EmailMessage`
and serialised with the SMTP policy. The figure justifies keeping the
hand-written encoder (see its module docstring): the sender's budget is 1 ms
of CPU per message (issue 23), which the standard library alone exceeds.
"""

import datetime as dt
import email.message
import email.policy
import email.utils
import sys
import time

from webapp import create_app
from webapp.notifications.mime import email_bytes
from webapp.notifications.services import render_email

SENDER = "Carnet <no-reply@carnet.test>"
RUNS = 2_000


def cpu_microseconds(operation, runs: int = RUNS) -> float:
    for _ in range(runs // 10):
        operation()
    started = time.process_time()
    for _ in range(runs):
        operation()
    return (time.process_time() - started) / runs * 1e6


def encoders() -> dict[str, object]:
    """The two ways of writing the same reminder, by name: each returns the message's bytes."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "CARNET_SCHEDULER": "off"})
    with app.app_context():
        now = dt.datetime.now(dt.UTC)
        context = {"practitioner_name": "Dr Claire Martin", "starts_at": now, "timezone": "Europe/Paris",
                   "address": "12 rue de la Roquette, 75011 Paris", "manage_url": "http://carnet.test/a/1",
                   "label": "Consultation avec Dr Claire Martin", "practice_phone": "01 42 00 00 00"}
        subject, text, html = render_email("appointment_reminder", context, "fr")
    fields = {"sender": SENDER, "to": "paul@example.com", "subject": subject, "date": now,
              "message_id": "<notification.1.0123456789abcdef@carnet.test>", "locale": "fr"}

    def hand_written() -> bytes:
        return email_bytes(**fields, text=text, html=html)

    def standard() -> bytes:
        message = email.message.EmailMessage()
        message["From"], message["To"], message["Subject"] = fields["sender"], fields["to"], fields["subject"]
        message["Date"], message["Message-ID"] = email.utils.format_datetime(now), fields["message_id"]
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        message["Content-Language"] = fields["locale"]  # after set_content, which drops Content-* headers
        return message.as_bytes(policy=email.policy.SMTP)

    return {"notifications.mime.email_bytes": hand_written, "email.message.EmailMessage": standard}


def main(runs: int = RUNS) -> int:
    for name, operation in encoders().items():
        print(f"{name:34} {cpu_microseconds(operation, runs):8.1f} µs CPU per message")
    return 0


if __name__ == "__main__":
    sys.exit(main())
