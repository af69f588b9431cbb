"""Every message in both languages, reminders (offsets, DST, cut-off, cancellation), waiting-list offers."""

import datetime as dt
import html
from zoneinfo import ZoneInfo

import pytest

from tests.notifications.factories import PARIS_MORNING, make_ics, outbox
from webapp.db import now_utc
from webapp.notifications import messages
from webapp.notifications.models import Category, Channel, NotificationStatus
from webapp.notifications.sender import send_due_notifications
from webapp.notifications.services import open_email, open_sms
from webapp.transaction import transaction

PARIS = ZoneInfo("Europe/Paris")
LATER = PARIS_MORNING + dt.timedelta(days=1)
COMMON = {"to": "marie@example.com", "user_id": None}

# (function, its arguments, a phrase of the French text, the same in English)
MESSAGES = [
    (messages.notify_account_confirmation, {"confirm_url": "http://carnet.test/account/email/t"},
     "Confirmez votre adresse e-mail", "Confirm your email address"),
    (messages.notify_password_reset, {"reset_url": "http://carnet.test/password/reset/t", "valid_minutes": 60},
     "dans les 60 minutes", "within 60 minutes"),
    (messages.notify_booking_confirmed, {
        "patient_name": "Marie Lambert", "practitioner_name": "Dr Martin", "starts_at": PARIS_MORNING,
        "address": "12 rue de la Roquette", "manage_url": "http://carnet.test/a/1", "ics": make_ics(),
        "label": "Vaccin avec Dr Martin"}, "Rendez-vous confirmé : mardi 12 mars 2030 à 09:30",
     "Appointment confirmed: Tuesday, March 12, 2030 at 9:30\u202fAM"),
    (messages.notify_booking_cancelled, {
        "recipient_role": "patient", "cancelled_by": "practitioner", "counterpart_name": "Dr Martin",
        "starts_at": PARIS_MORNING, "book_url": "http://carnet.test/practitioners/1"},
     "Dr Martin a dû annuler votre rendez-vous du mardi 12 mars 2030 à 09:30",
     "Dr Martin had to cancel your appointment on Tuesday, March 12, 2030 at 9:30\u202fAM"),
    (messages.notify_booking_rescheduled, {
        "practitioner_name": "Dr Martin", "previous_starts_at": PARIS_MORNING, "starts_at": LATER,
        "address": "12 rue de la Roquette", "manage_url": "http://carnet.test/a/1", "ics": make_ics()},
     "Avant : mardi 12 mars 2030 à 09:30", "Now: Wednesday, March 13, 2030 at 9:30\u202fAM"),
    (messages.notify_waitlist_offer, {
        "practitioner_name": "Dr Martin", "starts_at": PARIS_MORNING, "book_url": "http://carnet.test/offer/1",
        "expires_at": PARIS_MORNING - dt.timedelta(hours=20)},
     "Un créneau avec Dr Martin s’est libéré", "A time with Dr Martin has become free"),
    (messages.notify_emergency_access, {
        "practitioner_name": "Dr Urgentiste", "reason": "Patient inconscient aux urgences",
        "granted_at": PARIS_MORNING, "expires_at": LATER, "access_log_url": "http://carnet.test/notebook/log"},
     "a ouvert votre carnet de santé en urgence", "opened your health notebook in an emergency"),
    (messages.notify_emergency_access_limit, {
        "practitioner_name": "Dr Urgentiste", "rpps": "10003456789", "account_id": 7, "limit": 3,
        "audit_url": "http://carnet.test/admin/audit?actor_id=7"},
     "a demandé un nouvel accès en urgence au carnet d'un patient après 3 en 24 heures",
     "asked for one more emergency access to a patient's notebook after 3 in 24 hours"),
    (messages.notify_notebook_entry, {"practitioner_name": "Dr Martin", "notebook_url": "http://carnet.test/n"},
     "a ajouté un élément à votre carnet de santé", "added an entry to your health notebook"),
    (messages.notify_payment_failed, {
        "invoice_number": "2030-000042", "amount_cents": 10680, "currency": "EUR",
        "billing_url": "http://carnet.test/billing", "grace_ends_at": LATER},
     "Le prélèvement de 106,80\u00a0€ pour la facture 2030-000042",
     "We could not collect €106.80 for invoice 2030-000042"),
    (messages.notify_subscription_suspended, {"billing_url": "http://carnet.test/billing"},
     "La prise de rendez-vous en ligne est suspendue", "Online booking is suspended"),
]


@pytest.mark.parametrize("notify, arguments, french, english", MESSAGES, ids=[m[0].__name__ for m in MESSAGES])
def test_every_message_renders_in_french_and_english(notify, arguments, french, english):
    with transaction():
        notify(key="fr", locale="fr", **COMMON, **arguments)
        notify(key="en", locale="en", **COMMON, **arguments)
    rows = {row.key: open_email(row) for row in outbox(channel=Channel.EMAIL)}
    for key, phrase in (("fr", french), ("en", english)):
        content = rows[key]
        assert phrase in content.subject + content.text, (key, content.text)
        assert phrase in html.unescape(content.html)
        assert f'<html lang="{key}">' in content.html
        assert "{{" not in content.text and "%(" not in content.text


def test_unknown_locale_falls_back_to_french():
    with transaction():
        messages.notify_notebook_entry(key="x", to="a@example.com", locale="de", practitioner_name="Dr Martin",
                                       notebook_url="http://carnet.test/n")
    assert open_email(outbox()[0]).locale == "fr"


def test_booking_messages_carry_the_calendar_file():
    ics = make_ics()
    with transaction():
        messages.notify_booking_confirmed(key="c", locale="fr", **COMMON, **MESSAGES[2][1] | {"ics": ics})
    [attachment] = open_email(outbox()[0]).attachments
    assert (attachment.filename, attachment.mime_type, attachment.data) == ("appointment.ics", "text/calendar", ics)


def test_each_side_of_a_cancellation_reads_its_own_text():
    cases = {
        ("patient", "patient"): "Votre annulation est enregistrée",
        ("practitioner", "patient"): "Marie Lambert a annulé le rendez-vous",
        ("practitioner", "practitioner"): "Le rendez-vous avec Marie Lambert",
    }
    with transaction():
        for (recipient, by), _ in cases.items():
            messages.notify_booking_cancelled(
                key=f"{recipient}-{by}", to="x@example.com", locale="fr", recipient_role=recipient,
                cancelled_by=by, counterpart_name="Dr Martin" if recipient == "patient" else "Marie Lambert",
                starts_at=PARIS_MORNING)
    texts = {row.key: open_email(row).text for row in outbox()}
    for (recipient, by), phrase in cases.items():
        assert phrase in texts[f"{recipient}-{by}"]
    with pytest.raises(ValueError):
        messages.notify_booking_cancelled(key="k", to="x@example.com", locale="fr", recipient_role="staff",
                                          cancelled_by="patient", counterpart_name="X", starts_at=PARIS_MORNING)


def test_notebook_entry_message_holds_no_health_data():
    with transaction():
        messages.notify_notebook_entry(key="n", to="a@example.com", locale="fr", practitioner_name="Dr Martin",
                                       notebook_url="http://carnet.test/n")
    assert "Par confidentialité" in open_email(outbox()[0]).text


# Reminders ---------------------------------------------------------------

def schedule(starts_at, *, now, appointment_key="appointment:1", phone=None):
    with transaction():
        return messages.schedule_reminders(
            appointment_key=appointment_key, to="marie@example.com", locale="fr", practitioner_name="Dr Martin",
            starts_at=starts_at, address="12 rue de la Roquette", manage_url="http://carnet.test/a/1",
            phone=phone, now=now)


def test_reminders_48_and_2_hours_before_by_email_and_sms():
    starts_at = dt.datetime(2030, 6, 10, 7, 0, tzinfo=dt.UTC)
    assert schedule(starts_at, now=starts_at - dt.timedelta(days=10), phone="+33612345678") == 2
    rows = {(row.key, row.channel): row for row in outbox()}
    assert set(rows) == {(f"reminder:appointment:1:{h}h", channel) for h in (48, 2) for channel in Channel}
    two_days = rows[("reminder:appointment:1:48h", Channel.EMAIL)]
    two_hours = rows[("reminder:appointment:1:2h", Channel.SMS)]
    assert two_days.due_at == starts_at - dt.timedelta(hours=48)
    assert two_days.not_after == two_days.due_at + dt.timedelta(hours=12)
    assert two_hours.due_at == starts_at - dt.timedelta(hours=2)
    assert two_hours.category is Category.REMINDERS
    assert "le lundi 10 juin 2030 à 09:00" in open_sms(two_hours).text


def test_reminder_offsets_come_from_the_configuration(app):
    app.config["CARNET_REMINDER_HOURS"] = [24]
    try:
        starts_at = dt.datetime(2030, 6, 10, 7, 0, tzinfo=dt.UTC)
        schedule(starts_at, now=starts_at - dt.timedelta(days=10))
    finally:
        app.config["CARNET_REMINDER_HOURS"] = [48, 2]
    assert [row.key for row in outbox()] == ["reminder:appointment:1:24h"]


def test_48_hour_reminder_keeps_the_local_time_across_a_dst_change():
    # Monday 30 March 2026 at 09:00 in Paris, the day after clocks go forward.
    starts_at = dt.datetime(2026, 3, 30, 9, 0, tzinfo=PARIS)
    schedule(starts_at, now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    rows = {row.key: row for row in outbox()}
    two_days = rows["reminder:appointment:1:48h"].due_at.astimezone(PARIS)
    assert (two_days.date(), two_days.hour, two_days.minute) == (dt.date(2026, 3, 28), 9, 0)
    two_hours = rows["reminder:appointment:1:2h"].due_at.astimezone(PARIS)
    assert (two_hours.date(), two_hours.hour) == (dt.date(2026, 3, 30), 7)
    assert "lundi 30 mars 2026 à 09:00" in open_email(rows["reminder:appointment:1:2h"]).subject


def test_reminders_in_autumn_keep_the_visit_time_in_the_text():
    # Tuesday 27 October 2026 at 10:00, two days after clocks go back.
    starts_at = dt.datetime(2026, 10, 27, 10, 0, tzinfo=PARIS)
    schedule(starts_at, now=dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    row = {row.key: row for row in outbox()}["reminder:appointment:1:48h"]
    due = row.due_at.astimezone(PARIS)
    assert (due.date(), due.hour) == (dt.date(2026, 10, 25), 10)
    assert "mardi 27 octobre 2026 à 10:00" in open_email(row).text


def test_no_reminder_for_a_past_appointment():
    now = now_utc()
    assert schedule(now - dt.timedelta(hours=1), now=now) == 0
    assert outbox() == []


def test_a_visit_booked_for_tomorrow_gets_only_the_2_hour_reminder():
    now = now_utc()
    assert schedule(now + dt.timedelta(hours=30), now=now) == 1
    assert [row.key for row in outbox()] == ["reminder:appointment:1:2h"]


def test_no_reminder_for_a_cancelled_appointment(caplog):
    now = now_utc()
    starts_at = now + dt.timedelta(days=3)
    schedule(starts_at, now=now, appointment_key="appointment:1")
    schedule(starts_at, now=now, appointment_key="appointment:2")
    with transaction():
        assert messages.cancel_reminders(appointment_key="appointment:1") == 2
    report = send_due_notifications(starts_at)
    assert report.sent == 0 and report.expired == 2  # appointment 2's reminders, checked too late below
    statuses = {row.key: row.status for row in outbox()}
    assert statuses["reminder:appointment:1:48h"] is NotificationStatus.CANCELLED
    assert statuses["reminder:appointment:1:2h"] is NotificationStatus.CANCELLED


def test_reminders_are_sent_at_their_time_and_not_late_after_downtime():
    now = now_utc()
    starts_at = now + dt.timedelta(days=3)
    schedule(starts_at, now=now)
    first = starts_at - dt.timedelta(hours=48)
    assert send_due_notifications(first - dt.timedelta(minutes=1)).sent == 0
    assert send_due_notifications(first + dt.timedelta(minutes=1)).sent == 1
    # The sender was down from before the 2 h reminder until the visit started.
    assert send_due_notifications(starts_at + dt.timedelta(minutes=1)).expired == 1
    statuses = {row.key: row.status for row in outbox()}
    assert statuses == {"reminder:appointment:1:48h": NotificationStatus.SENT,
                        "reminder:appointment:1:2h": NotificationStatus.EXPIRED}


def test_a_rescheduled_appointment_gets_reminders_for_its_new_time():
    now = now_utc()
    first, moved = now + dt.timedelta(days=5), now + dt.timedelta(days=8)
    schedule(first, now=now)
    with transaction():
        messages.cancel_reminders(appointment_key="appointment:1")
    schedule(moved, now=now)
    rows = {row.key: row for row in outbox()}
    assert rows["reminder:appointment:1:48h"].status is NotificationStatus.PENDING
    assert rows["reminder:appointment:1:48h"].due_at == moved - dt.timedelta(hours=48)


# Waiting list ---------------------------------------------------------------

def test_waitlist_offer_by_email_and_sms_not_sent_after_it_expires():
    now = now_utc()
    with transaction():
        messages.notify_waitlist_offer(
            key="waitlist-offer:3:2030-03-12T08:30", to="paul@example.com", locale="fr",
            practitioner_name="Dr Martin", starts_at=PARIS_MORNING, book_url="http://carnet.test/offer/3",
            expires_at=now + dt.timedelta(hours=2), phone="+33612345678")
    assert {row.channel for row in outbox()} == {Channel.EMAIL, Channel.SMS}
    assert all(row.category is Category.WAITLIST and row.not_after == now + dt.timedelta(hours=2)
               for row in outbox())
    assert send_due_notifications(now + dt.timedelta(hours=3)).expired == 2
