"""The outgoing message bytes, read back with the standard library's parser."""

import datetime as dt
import email
import email.policy

import pytest

from webapp.notifications.mime import UnsafeHeaderError, email_bytes

SENT_AT = dt.datetime(2030, 3, 12, 8, 30, tzinfo=dt.UTC)


def write(**overrides) -> bytes:
    values = {"sender": "Carnet <no-reply@carnet.test>", "to": "marie@example.com", "subject": "Rappel",
              "date": SENT_AT, "message_id": "<notification.1.abc@carnet.test>", "locale": "fr",
              "text": "Bonjour,\n\nÀ bientôt.\n", "html": "<p>Bonjour,</p><p>À bientôt.</p>"}
    return email_bytes(**(values | overrides))


def parse(data: bytes):
    return email.message_from_bytes(data, policy=email.policy.default)


def test_headers_and_both_parts_read_back():
    message = parse(write())
    assert (message["From"], message["To"], message["Subject"]) == ("Carnet <no-reply@carnet.test>",
                                                                   "marie@example.com", "Rappel")
    assert message["Message-ID"] == "<notification.1.abc@carnet.test>"
    assert message["Date"].datetime == SENT_AT
    assert message["Content-Language"] == "fr" and message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content() == "Bonjour,\n\nÀ bientôt.\n"
    assert message.get_body(("html",)).get_content() == "<p>Bonjour,</p><p>À bientôt.</p>"
    assert list(message.iter_attachments()) == []


def test_every_line_is_ascii_crlf_and_short():
    data = write(text="é" * 5000, subject="Rendez-vous confirmé : " + "très long sujet " * 12)
    assert data.isascii()
    lines = data.split(b"\r\n")
    assert b"\n" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 78


@pytest.mark.parametrize("subject", ["Rendez-vous confirmé : mardi 12 mars 2030 à 09:30",
                                     "Appointment confirmed: Tuesday, March 12, 2030 at 9:30\u202fAM",
                                     "日本語の件名" * 10,
                                     "A plain ASCII subject that is far too long for one line " * 3])
def test_subject_survives_encoding_and_folding(subject):
    assert parse(write(subject=subject))["Subject"] == subject


def test_attachments_with_their_type_and_name():
    message = parse(write(attachments=[("appointment.ics", "text/calendar", b"BEGIN:VCALENDAR\r\n"),
                                       ("facture été.pdf", "application/pdf", b"%PDF-1.7 \x00\xff")]))
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_body(("plain",)).get_content() == "Bonjour,\n\nÀ bientôt.\n"
    ics, pdf = message.iter_attachments()
    assert (ics.get_filename(), ics.get_content_type(), ics.get_content()) == (
        "appointment.ics", "text/calendar", "BEGIN:VCALENDAR\r\n")
    assert (pdf.get_filename(), pdf.get_content_type(), pdf.get_content()) == (
        "facture été.pdf", "application/pdf", b"%PDF-1.7 \x00\xff")


@pytest.mark.parametrize("field, value", [("to", "marie@example.com\r\nBcc: all@example.com"),
                                          ("subject", "Rappel\nBcc: all@example.com"),
                                          ("to", "marie@exämple.com")])
def test_header_injection_and_unencodable_addresses_are_refused(field, value):
    with pytest.raises(UnsafeHeaderError):
        write(**{field: value})


def test_a_malformed_attachment_type_is_refused():
    with pytest.raises(UnsafeHeaderError):
        write(attachments=[("x.ics", "text/calendar\r\nBcc: all@example.com", b"x")])


def test_an_attachment_type_carries_its_parameters():
    message = parse(write(attachments=[("invite.ics", "text/calendar", b"BEGIN:VCALENDAR\r\n",
                                        {"charset": "utf-8", "method": "REQUEST"})]))
    [ics] = message.iter_attachments()
    assert ics.get_content_type() == "text/calendar"
    assert (ics.get_param("charset"), ics.get_param("method")) == ("utf-8", "REQUEST")
    assert "Content-Type: text/calendar; charset=utf-8; method=REQUEST\r\n" in write(attachments=[
        ("invite.ics", "text/calendar", b"x", {"charset": "utf-8", "method": "REQUEST"})]).decode()


def test_a_malformed_attachment_parameter_is_refused():
    with pytest.raises(UnsafeHeaderError):
        write(attachments=[("x.ics", "text/calendar", b"x", {"method\r\nBcc": "REQUEST"})])
