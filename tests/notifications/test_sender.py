"""The outbox sender against a real SMTP server: content, retries, failures, concurrency, leases."""

import dataclasses
import datetime as dt
import logging
import threading

import icalendar
import pytest

from tests import factories
from tests.notifications.conftest import serving
from tests.notifications.factories import PARIS_MORNING, make_ics, outbox
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notifications import messages, sender
from webapp.notifications.models import Category, Channel, NotificationStatus
from webapp.notifications.sender import LEASE, MAX_RETRY_SECONDS, send_due_notifications
from webapp.notifications.services import enqueue_email, enqueue_sms, set_notification_preferences
from webapp.transaction import transaction


@pytest.fixture(params=["pipelining", "lock-step"])
def smtp_server(request):
    """Each test against a server offering PIPELINING (RFC 2920) and one answering command by command."""
    with serving(pipelining=request.param == "pipelining") as server:
        yield server


def queue_booking_confirmation(appointment_id: int = 1, *, to: str = "marie@example.com", locale: str = "fr"):
    with transaction():
        messages.notify_booking_confirmed(
            key=f"booking-confirmed:{appointment_id}", to=to, locale=locale, patient_name="Marie Lambert",
            practitioner_name="Dr Claire Martin", starts_at=PARIS_MORNING, address="12 rue de la Roquette, 75011 Paris",
            label="Rendez-vous avec Dr Claire Martin", manage_url=f"http://carnet.test/appointments/{appointment_id}",
            ics=make_ics(uid=f"appointment-{appointment_id}@carnet.test"),
        )


def queue_simple(key: str, **overrides):
    values = {"key": key, "to": "paul@example.com", "template": "notebook_entry", "category": Category.NOTEBOOK,
              "context": {"practitioner_name": "Dr Martin", "notebook_url": "http://carnet.test/notebook"}}
    with transaction():
        enqueue_email(**(values | overrides))


def test_booking_confirmation_arrives_with_both_parts_and_the_ics(smtp):
    queue_booking_confirmation()

    report = send_due_notifications()

    assert report.sent == 1
    [message] = smtp.messages
    assert message["To"] == "marie@example.com"
    assert message["From"] == "Carnet <no-reply@carnet.test>"
    assert message["Subject"] == "Rendez-vous confirmé : mardi 12 mars 2030 à 09:30"
    assert message["Content-Language"] == "fr" and message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@carnet.test>") and message["Date"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Votre rendez-vous avec Dr Claire Martin est confirmé." in text
    assert "Objet : Rendez-vous avec Dr Claire Martin" in text
    assert "http://carnet.test/appointments/1" in text
    assert '<html lang="fr">' in html and "Votre rendez-vous avec Dr Claire Martin est confirmé." in html
    assert '<a class="button" href="http://carnet.test/appointments/1">' in html
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "appointment.ics"
    assert attachment.get_content_type() == "text/calendar"
    event = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")[0]
    assert str(event["UID"]) == "appointment-1@carnet.test"
    assert event.decoded("DTSTART") == PARIS_MORNING
    [row] = outbox()
    assert row.status is NotificationStatus.SENT and row.sent_at is not None and row.attempts == 1


def test_message_in_english_for_an_english_recipient(smtp):
    queue_booking_confirmation(locale="en")
    send_due_notifications()
    [message] = smtp.messages
    assert message["Subject"] == "Appointment confirmed: Tuesday, March 12, 2030 at 9:30\u202fAM"
    assert "Your appointment with Dr Claire Martin is confirmed." in message.get_body(("plain",)).get_content()


def test_html_part_escapes_what_the_caller_passes(smtp):
    queue_simple("notebook-entry:1", context={"practitioner_name": "<script>x</script>",
                                             "notebook_url": "http://carnet.test/notebook"})
    send_due_notifications()
    html = smtp.messages[0].get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_one_smtp_connection_per_batch(smtp):
    for index in range(3):
        queue_booking_confirmation(index)
    assert send_due_notifications().sent == 3
    assert len(smtp.messages) == 3 and len(smtp.sessions) == 1


def test_sending_twice_sends_each_message_once(smtp):
    queue_booking_confirmation()
    send_due_notifications()
    assert send_due_notifications().sent == 0
    assert len(smtp.messages) == 1


def test_nothing_is_sent_before_its_due_time(smtp):
    queue_simple("later", due_at=now_utc() + dt.timedelta(hours=1))
    assert send_due_notifications().sent == 0
    assert send_due_notifications(now_utc() + dt.timedelta(hours=1, seconds=1)).sent == 1


def test_temporary_refusal_is_retried_with_backoff_then_sent(smtp):
    queue_simple("retry-me")
    smtp.replies.append("451 4.3.0 Try again later")
    now = now_utc()

    first = send_due_notifications(now)

    [row] = outbox()
    assert first.retried == 1 and smtp.messages == []
    assert row.status is NotificationStatus.PENDING and row.attempts == 1
    assert "451" in row.last_error
    assert now + dt.timedelta(seconds=30) <= row.due_at <= now + dt.timedelta(seconds=60)  # half to all of 60 s
    assert send_due_notifications(now + dt.timedelta(seconds=29)).sent == 0  # not before the backoff
    assert send_due_notifications(row.due_at).sent == 1
    [row] = outbox()
    assert row.status is NotificationStatus.SENT and row.attempts == 2 and row.last_error is None


def test_the_retry_cap_is_above_every_configured_step():
    # The shared policy (tests/test_outbox_retry.py) doubles 60 s five times at most with the default 6 attempts.
    assert MAX_RETRY_SECONDS >= 60 * 2 ** 5


def test_fails_for_good_after_the_last_attempt_keeping_the_error(smtp, app):
    queue_simple("always-refused")
    attempts = app.config["CARNET_OUTBOX_MAX_ATTEMPTS"]
    smtp.replies.extend(["451 4.3.0 Mailbox busy"] * attempts)
    now = now_utc()
    for _ in range(attempts):
        send_due_notifications(now)
        now += dt.timedelta(days=1)
    [row] = outbox()
    assert row.status is NotificationStatus.FAILED and row.attempts == attempts
    assert row.last_error == "451 4.3.0 Mailbox busy"
    assert send_due_notifications(now).sent == 0 and smtp.messages == []


def test_permanent_refusal_fails_at_once(smtp):
    queue_simple("no-such-mailbox")
    smtp.replies.append("550 5.1.1 No such user")
    report = send_due_notifications()
    [row] = outbox()
    assert report.failed == 1 and row.status is NotificationStatus.FAILED and row.attempts == 1
    assert "550" in row.last_error


def test_refused_recipient_fails_for_good_and_the_next_message_leaves_on_the_same_connection(smtp):
    queue_simple("refused-recipient", to="nobody@example.com")
    queue_simple("fine")
    smtp.recipient_replies.append("550 5.1.1 No such user")

    report = send_due_notifications()

    rows = {row.key: row for row in outbox()}
    assert (report.sent, report.failed) == (1, 1) and len(smtp.sessions) == 1
    assert rows["refused-recipient"].status is NotificationStatus.FAILED
    assert rows["refused-recipient"].last_error == "recipient refused: 550 5.1.1 No such user"
    assert rows["fine"].status is NotificationStatus.SENT
    assert [envelope.rcpt_tos for envelope in smtp.envelopes] == [["paul@example.com"]]


def test_a_recipient_busy_for_now_is_retried(smtp):
    queue_simple("busy-recipient")
    smtp.recipient_replies.append("450 4.2.1 Mailbox busy")
    report = send_due_notifications()
    [row] = outbox()
    assert report.retried == 1 and row.status is NotificationStatus.PENDING
    assert row.last_error == "recipient refused: 450 4.2.1 Mailbox busy"


def test_refusals_between_accepted_messages_go_to_the_right_rows(smtp):
    for index in range(6):
        queue_simple(f"notebook-entry:{index}")
    smtp.replies.extend(["250 Message accepted", "550 5.7.1 Rejected", "250 Message accepted", "451 4.3.0 Later"])
    report = send_due_notifications()
    statuses = {row.key: row.status for row in outbox()}
    assert (report.sent, report.failed, report.retried) == (4, 1, 1)
    assert statuses == {"notebook-entry:0": NotificationStatus.SENT, "notebook-entry:1": NotificationStatus.FAILED,
                        "notebook-entry:2": NotificationStatus.SENT, "notebook-entry:3": NotificationStatus.PENDING,
                        "notebook-entry:4": NotificationStatus.SENT, "notebook-entry:5": NotificationStatus.SENT}


def test_a_line_starting_with_a_dot_arrives_unchanged(smtp, monkeypatch):
    real_build = sender.build_email_message

    def with_dotted_line(content, **kwargs):
        mail = real_build(content, **kwargs)
        return dataclasses.replace(mail, data=mail.data + b".hidden\r\n..\r\n.\r\n")

    monkeypatch.setattr(sender, "build_email_message", with_dotted_line)
    queue_simple("dotted")
    assert send_due_notifications().sent == 1
    assert smtp.envelopes[0].original_content.endswith(b"\r\n.hidden\r\n..\r\n.\r\n")


def test_unreachable_server_is_a_temporary_failure(app, smtp):
    app.config["CARNET_SMTP_PORT"] = 1  # nothing listens there
    queue_simple("server-down")
    report = send_due_notifications()
    [row] = outbox()
    assert report.retried == 1 and row.status is NotificationStatus.PENDING and row.last_error


def test_not_sent_after_its_cut_off(smtp):
    queue_simple("too-late", due_at=now_utc() - dt.timedelta(hours=3), not_after=now_utc() - dt.timedelta(hours=1))
    report = send_due_notifications()
    [row] = outbox()
    assert report.expired == 1 and row.status is NotificationStatus.EXPIRED and smtp.messages == []


def test_category_turned_off_after_enqueue_is_skipped(smtp):
    patient = factories.make_patient()
    queue_simple("notebook-entry:7", user_id=patient.account.id)
    with transaction():
        set_notification_preferences(patient.account.id, {(Category.NOTEBOOK, Channel.EMAIL): False},
                                     by_id=patient.account.id)
    report = send_due_notifications()
    assert report.skipped == 1 and smtp.messages == []
    assert outbox()[0].status is NotificationStatus.SKIPPED


def test_a_claim_left_by_a_crashed_sender_is_taken_back_after_its_lease(smtp):
    queue_simple("crashed")
    row = outbox()[0]
    row.status, row.claim_token, row.attempts = NotificationStatus.SENDING, "gone", 1
    row.claimed_until = now_utc() + LEASE
    db.session.commit()

    assert send_due_notifications().sent == 0  # still leased to the other sender
    assert send_due_notifications(now_utc() + LEASE + dt.timedelta(seconds=1)).sent == 1
    assert outbox()[0].attempts == 2


def test_a_crashed_last_attempt_is_failed_not_resent(smtp, app):
    queue_simple("crashed-last")
    row = outbox()[0]
    row.status, row.claim_token = NotificationStatus.SENDING, "gone"
    row.attempts = app.config["CARNET_OUTBOX_MAX_ATTEMPTS"]
    row.claimed_until = now_utc() - dt.timedelta(seconds=1)
    db.session.commit()
    report = send_due_notifications()
    assert report.failed == 1 and smtp.messages == []
    assert outbox()[0].status is NotificationStatus.FAILED


def test_stored_message_is_encrypted(smtp):
    queue_booking_confirmation()
    payload = outbox()[0].payload
    assert b"marie@example.com" not in payload and b"Claire Martin" not in payload


def test_console_transport_logs_the_message(caplog):
    queue_booking_confirmation()
    with caplog.at_level(logging.INFO, logger="carnet.mail"):
        send_due_notifications()
    assert "mail to marie@example.com" in caplog.text
    assert "Rendez-vous confirmé" in caplog.text and "Attachments: appointment.ics" in caplog.text


def test_sms_goes_through_the_console_backend(caplog):
    with transaction():
        enqueue_sms(key="sms:1", to="+33612345678", template="appointment_reminder", category=Category.REMINDERS,
                    context={"practitioner_name": "Dr Martin", "starts_at": PARIS_MORNING,
                             "timezone": "Europe/Paris", "address": "12 rue de la Roquette",
                             "manage_url": "http://carnet.test/a/1"})
    with caplog.at_level(logging.INFO, logger="carnet.sms"):
        assert send_due_notifications().sent == 1
    assert "sms to +33612345678: Carnet : rappel de votre rendez-vous avec Dr Martin le mardi 12 mars 2030 à 09:30" \
        in caplog.text


@pytest.mark.postgres_only
def test_two_concurrent_senders_never_send_the_same_message(app, smtp):
    for index in range(40):
        queue_booking_confirmation(index)
    reports = []
    start = threading.Barrier(2)

    def worker():
        with app.app_context():
            start.wait()
            reports.append(send_due_notifications(batch_size=5))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    uids = [str(icalendar.Calendar.from_ical(next(m.iter_attachments()).get_content()).walk("VEVENT")[0]["UID"])
            for m in smtp.messages]
    assert len(uids) == 40 and len(set(uids)) == 40
    assert sum(report.sent for report in reports) == 40
    assert all(report.sent > 0 for report in reports)  # both took part: SKIP LOCKED, not one waiting for the other
    assert {row.status for row in outbox()} == {NotificationStatus.SENT}


def test_messages_accepted_before_an_unexpected_error_are_recorded_as_sent(smtp, monkeypatch):
    for index in range(5):
        queue_simple(f"notebook-entry:{index}")
    real_build = sender.build_email_message
    built = []

    def build_then_break(content, **kwargs):
        built.append(content)
        if len(built) == 3:
            raise RuntimeError("the sender stops here")
        return real_build(content, **kwargs)

    monkeypatch.setattr(sender, "build_email_message", build_then_break)
    with pytest.raises(RuntimeError, match="the sender stops here"):
        send_due_notifications()

    assert len(smtp.messages) == 2
    statuses = [row.status for row in outbox()]
    assert statuses == [NotificationStatus.SENT] * 2 + [NotificationStatus.SENDING] * 3
    # The rest is sent once its lease expires, and what was accepted is not sent again.
    monkeypatch.undo()
    assert send_due_notifications(now_utc() + LEASE + dt.timedelta(seconds=1)).sent == 3
    assert sorted(message["Message-ID"] for message in smtp.messages) == sorted(
        {message["Message-ID"] for message in smtp.messages})
    assert {row.status for row in outbox()} == {NotificationStatus.SENT}


def test_many_messages_over_one_connection_are_each_recorded_once(smtp):
    for index in range(230):
        queue_simple(f"notebook-entry:{index}")
    report = send_due_notifications(batch_size=100)
    assert report.sent == 230 and len(smtp.messages) == 230 and len(smtp.sessions) == 1
    assert len({message["Message-ID"] for message in smtp.messages}) == 230
    rows = outbox()
    assert {row.status for row in rows} == {NotificationStatus.SENT}
    assert all(row.sent_at is not None and row.claim_token is None and row.attempts == 1 for row in rows)
