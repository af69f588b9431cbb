"""Rendering a message: free text stays text, only the message's own links become buttons."""

import datetime as dt
from pathlib import Path

import pytest
from flask_babel import force_locale
from markupsafe import Markup

import webapp.notifications
from webapp.notifications.rendering import message_environment
from webapp.notifications.services import render_email

GRANTED_AT = dt.datetime(2026, 12, 5, 9, 30, tzinfo=dt.UTC)
PHISHING = "Patient inconscient aux urgences.\n\nhttps://evil.example/connexion\n\nMerci de vous reconnecter."


def render_emergency_notice(reason: str) -> tuple[str, str, str]:
    return render_email("emergency_access", {
        "practitioner_name": "Dr Hugo Moreau", "granted_at": GRANTED_AT, "expires_at": GRANTED_AT,
        "timezone": "Europe/Paris", "reason": reason, "access_log_url": "http://carnet.test/notebooks/7/access-log",
    }, "fr")


def test_free_text_can_never_become_a_button_in_a_mail():
    _, text, html = render_emergency_notice(PHISHING)
    assert 'href="https://evil.example' not in html and "<a" not in html.replace(
        '<a class="button" href="http://carnet.test/notebooks/7/access-log">', "")
    assert "Patient inconscient aux urgences. https://evil.example/connexion Merci de vous reconnecter." in text
    assert '<a class="button" href="http://carnet.test/notebooks/7/access-log">' in html


def test_markup_in_free_text_is_escaped_in_the_html_part():
    _, _, html = render_emergency_notice('<a href="https://evil.example">ici</a>')
    assert "&lt;a href=" in html and '<a href="https://evil.example">' not in html


MESSAGE_TEMPLATES = sorted(path.name for path in (Path(webapp.notifications.__file__).parent / "templates" /
                                                  "notifications").iterdir() if not path.name.startswith("_"))


def _every_value(flag: bool) -> dict:
    """A value for every name the message templates use; `flag` picks either branch of their conditions."""
    values = {name: f"{name} <b>&amp;</b> 'x'" for name in (
        "patient_name", "practitioner_name", "address", "label", "reason", "counterpart_name", "first_name",
        "practice_name", "proxy_name", "method", "rpps", "account_id", "invoice_number", "practice_phone")}
    values |= {name: f"http://carnet.test/{name}?a=1&b=2" for name in (
        "manage_url", "book_url", "confirm_url", "reset_url", "claim_url", "account_url", "access_log_url",
        "audit_url", "notebook_url", "billing_url")}
    return values | {
        "starts_at": GRANTED_AT, "previous_starts_at": GRANTED_AT - dt.timedelta(days=200), "granted_at": GRANTED_AT,
        "expires_at": GRANTED_AT + dt.timedelta(hours=2), "grace_ends_at": GRANTED_AT + dt.timedelta(days=7),
        "cancel_until": GRANTED_AT - dt.timedelta(days=1) if flag else None, "timezone": "Europe/Paris",
        "amount_cents": 8900, "currency": "EUR", "days": 7, "minutes": 30, "limit": 3, "too_late": flag,
        "removed_by_owner": flag, "still_proxy": flag, "recipient_role": "patient" if flag else "practitioner",
        "cancelled_by": "practitioner" if flag else "patient", "practice_phone": "01 42 00 00 00" if flag else None,
        "subject": "Objet <b>", "locale": "fr", "paragraphs": [Markup("<b>gras</b>"), "<i>texte</i>"]}


@pytest.mark.parametrize("template", MESSAGE_TEMPLATES)
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_senders_environment_writes_what_the_apps_templates_write(app, template, locale):
    for flag in (True, False):
        context = _every_value(flag)
        with force_locale(locale):
            expected = app.jinja_env.get_template(f"notifications/{template}").render(context)
            assert message_environment(locale).get_template(f"notifications/{template}").render(context) == expected
