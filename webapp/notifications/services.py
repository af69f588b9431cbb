"""Sending notifications.

`send_email` renders a message from a template and hands it to the
transport; the console transport (the embedded default) logs it.
"""

import logging

from flask import current_app, render_template
from flask_babel import force_locale

log = logging.getLogger("carnet.mail")


def send_email(*, to: str, template: str, context: dict, locale: str | None = None) -> None:
    """Render `notifications/<template>.txt` (first line: the subject) and send it."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject, _, body = render_template(f"notifications/{template}.txt", **context).partition("\n")
    log.info("mail to %s\nSubject: %s\n%s", to, subject.strip(), body.strip())
