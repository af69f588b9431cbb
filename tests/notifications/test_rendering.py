"""Rendering a message: free text stays text, only the message's own links become buttons."""

import datetime as dt

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
