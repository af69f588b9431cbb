"""Booking's messages: written with the booking, sent through a real SMTP server, reminders across DST."""

import datetime as dt
import email.utils

import icalendar
import pytest

from tests import factories
from tests.booking.factories import PARIS, local_start
from tests.notifications.factories import outbox
from webapp.booking import appointments, waitlist
from webapp.booking.errors import SlotUnavailable
from webapp.booking.ics import appointment_uid
from webapp.booking.models import WaitlistEntry, WaitlistStatus
from webapp.extensions import db
from webapp.notifications.models import Channel, NotificationStatus
from webapp.notifications.sender import send_due_notifications
from webapp.notifications.services import open_email
from webapp.transaction import transaction

pytestmark = pytest.mark.usefixtures("in_request")  # services run inside a request


@pytest.fixture
def patient():
    return factories.make_patient()


def book(practice, start, by, **kwargs):
    practitioner, reason = practice
    with transaction():
        return appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=start,
                                         by=by, **kwargs)


def keys(**filters) -> set[str]:
    return {row.key for row in outbox(**filters)}


def calendar_of(message) -> tuple[icalendar.Calendar, str]:
    """The mail's calendar file and the iTIP method its content type announces."""
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    return icalendar.Calendar.from_ical(attachment.get_content()), attachment.get_param("method")


def calendar_event(message) -> icalendar.Event:
    return calendar_of(message)[0].walk("VEVENT")[0]


def test_booking_writes_the_confirmation_and_reminders_and_the_mail_carries_the_ics(practice, patient, smtp):
    start = local_start(5, 10)
    appointment = book(practice, start, patient.account)

    assert keys(channel=Channel.EMAIL) == {f"booking-confirmed:{appointment.id}",
                                          f"reminder:appointment:{appointment.id}:48h",
                                          f"reminder:appointment:{appointment.id}:2h"}
    assert send_due_notifications().sent == 1  # the reminders wait for their time
    [message] = smtp.messages
    assert message["To"] == patient.account.email
    assert message["Subject"].startswith("Rendez-vous confirmé")
    text = message.get_body(("plain",)).get_content()
    assert f"Objet : Rendez-vous avec {practice[0].full_name}" in text and "Consultation" not in text
    assert f"http://carnet.test/appointments/{appointment.id}" in text
    event = calendar_event(message)
    assert str(event["UID"]) == appointment_uid(appointment)
    assert event.decoded("DTSTART") == start and str(event["STATUS"]) == "CONFIRMED"


def test_a_booking_rolled_back_after_the_service_leaves_no_notification(practice, patient):
    with pytest.raises(RuntimeError), transaction():
        appointments.book_appointment(practitioner_id=practice[0].id, visit_reason_id=practice[1].id,
                                  start_at=local_start(5, 10), by=patient.account)
        raise RuntimeError("the request failed after booking")
    assert outbox() == []


def test_a_refused_booking_writes_nothing(practice, patient):
    book(practice, local_start(5, 10), factories.make_patient().account)
    before = keys()
    with pytest.raises(SlotUnavailable):
        book(practice, local_start(5, 10), patient.account)
    assert keys() == before


def test_a_relative_s_booking_goes_to_the_proxy_in_their_language(practice):
    parent = factories.make_user(locale="en")
    child = factories.make_relative(parent)
    appointment = book(practice, local_start(5, 10), parent, patient_id=child.id)
    [row] = outbox(key=f"booking-confirmed:{appointment.id}")
    content = open_email(row)
    assert content.to == parent.email and content.locale == "en" and row.user_id == parent.id
    assert content.subject.startswith("Appointment confirmed")


def test_a_desk_patient_hears_at_the_email_given_at_the_desk(practice):
    desk_patient = factories.make_desk_patient(email="paul.desk@example.com", desk_practitioner_id=practice[0].id)
    appointment = book(practice, local_start(5, 10), practice[0].user, patient_id=desk_patient.id)
    [row] = outbox(key=f"booking-confirmed:{appointment.id}")
    assert open_email(row).to == "paul.desk@example.com" and row.user_id is None


def test_a_patient_cancellation_withdraws_the_reminders_and_tells_the_practitioner(practice, patient, smtp):
    appointment = book(practice, local_start(5, 10), patient.account)
    send_due_notifications()
    smtp.messages.clear()

    with transaction():
        appointments.cancel_appointment(appointment.id, by=patient.account)

    reminders = outbox(key=f"reminder:appointment:{appointment.id}:48h") + \
        outbox(key=f"reminder:appointment:{appointment.id}:2h")
    assert reminders and {row.status for row in reminders} == {NotificationStatus.CANCELLED}
    send_due_notifications()
    by_recipient = {message["To"]: message for message in smtp.messages}
    assert set(by_recipient) == {practice[0].user.email, patient.account.email}
    to_practitioner = by_recipient[practice[0].user.email].get_body(("plain",)).get_content()
    assert f"{patient.full_name} a annulé le rendez-vous" in to_practitioner
    assert str(calendar_event(by_recipient[patient.account.email])["STATUS"]) == "CANCELLED"


def test_a_practitioner_cancellation_tells_the_patient_with_the_reason(practice, patient, smtp):
    appointment = book(practice, local_start(5, 10), patient.account)
    send_due_notifications()
    smtp.messages.clear()

    with transaction():
        appointments.cancel_appointment(appointment.id, by=practice[0].user, reason="Formation imprévue")

    send_due_notifications()
    [message] = smtp.messages
    assert message["To"] == patient.account.email
    text = message.get_body(("plain",)).get_content()
    assert f"{practice[0].full_name} a dû annuler votre rendez-vous" in text
    assert "Motif indiqué : Formation imprévue" in text
    assert f"http://carnet.test/practitioners/{practice[0].id}" in text
    assert str(calendar_event(message)["STATUS"]) == "CANCELLED"


def test_a_reschedule_sends_the_new_ics_and_moves_the_reminders(practice, patient, smtp):
    appointment = book(practice, local_start(5, 10), patient.account)
    send_due_notifications()
    smtp.messages.clear()
    new_start = local_start(8, 15)

    with transaction():
        appointments.reschedule_appointment(appointment.id, new_start_at=new_start, by=patient.account)

    send_due_notifications()
    [message] = smtp.messages
    assert message["Subject"].startswith("Rendez-vous déplacé")
    event = calendar_event(message)
    assert event.decoded("DTSTART") == new_start and int(event["SEQUENCE"]) == 1
    [reminder] = outbox(key=f"reminder:appointment:{appointment.id}:2h")
    assert reminder.status is NotificationStatus.PENDING and reminder.due_at == new_start - dt.timedelta(hours=2)


def next_dst_change(after: dt.date) -> dt.date:
    """The next last Sunday of March or October after `after`."""
    for year in (after.year, after.year + 1):
        for month in (3, 10):
            last_day = dt.date(year, month, 31)
            sunday = last_day - dt.timedelta(days=(last_day.weekday() + 1) % 7)
            if sunday > after:
                return sunday
    raise AssertionError("unreachable")


def test_reminders_of_a_real_booking_keep_the_local_time_across_a_dst_change(practice, patient):
    change = next_dst_change(dt.datetime.now(PARIS).date() + dt.timedelta(days=3))
    monday = change + dt.timedelta(days=1)
    start = dt.datetime.combine(monday, dt.time(10), PARIS)

    appointment = book(practice, start, patient.account)

    [two_days] = outbox(key=f"reminder:appointment:{appointment.id}:48h")
    [two_hours] = outbox(key=f"reminder:appointment:{appointment.id}:2h")
    saturday_ten = dt.datetime.combine(monday - dt.timedelta(days=2), dt.time(10), PARIS)
    assert two_days.due_at == saturday_ten
    assert two_days.due_at.astimezone(PARIS).hour == 10
    # 47 or 49 hours of elapsed time: the clock moved in between.
    assert abs(start - two_days.due_at) in (dt.timedelta(hours=47), dt.timedelta(hours=49))
    assert two_hours.due_at.astimezone(PARIS).time() == dt.time(8)


def test_a_cancellation_offers_the_slot_to_the_waiting_list_and_queues_the_offer(practice, patient, smtp):
    practitioner, reason = practice
    start = local_start(3, 10)
    appointment = book(practice, start, patient.account)
    waiting = factories.make_patient()
    with transaction():
        entry = waitlist.join_waitlist(practitioner_id=practitioner.id, visit_reason_id=reason.id,
                                       before_at=local_start(10), by=waiting.account)

    with transaction():
        appointments.cancel_appointment(appointment.id, by=patient.account)

    assert db.session.get(WaitlistEntry, entry.id).status is WaitlistStatus.OFFERED
    [offer] = outbox(key=f"waitlist-offer:{entry.id}:{start.astimezone(dt.UTC).isoformat()}")
    assert offer.not_after == start  # no notice required in this practice
    send_due_notifications()
    [message] = [message for message in smtp.messages if message["To"] == waiting.account.email]
    text = message.get_body(("plain",)).get_content()
    assert practitioner.full_name in text and f"http://carnet.test/book/{practitioner.id}?" in text


def test_mails_carry_itip_request_request_cancel_with_one_uid_and_rising_sequence(app, practice, patient, smtp):
    appointment = book(practice, local_start(5, 10), patient.account)
    with transaction():
        appointments.reschedule_appointment(appointment.id, new_start_at=local_start(8, 15), by=patient.account)
    with transaction():
        appointments.cancel_appointment(appointment.id, by=practice[0].user, reason="Formation imprévue")
    send_due_notifications()

    received = [calendar_of(message) for message in smtp.messages if message["To"] == patient.account.email]
    assert [(str(calendar["METHOD"]), method) for calendar, method in received] == [
        ("REQUEST", "REQUEST"), ("REQUEST", "REQUEST"), ("CANCEL", "CANCEL")]
    events = [calendar.walk("VEVENT")[0] for calendar, _ in received]
    assert {str(event["UID"]) for event in events} == {appointment_uid(appointment)}
    assert [int(event["SEQUENCE"]) for event in events] == [0, 1, 2]
    assert [str(event["STATUS"]) for event in events] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
    sender = email.utils.parseaddr(app.config["CARNET_MAIL_FROM"])[1]
    for event in events:
        assert event.get("DTSTAMP") is not None
        organizer, attendee = event["ORGANIZER"], event["ATTENDEE"]
        assert str(organizer).lower() == f"mailto:{sender}" and organizer.params["CN"] == practice[0].full_name
        assert str(attendee).lower() == f"mailto:{patient.account.email}"
        assert attendee.params["CN"] == patient.full_name
        assert (attendee.params["PARTSTAT"], attendee.params["ROLE"]) == ("ACCEPTED", "REQ-PARTICIPANT")
        assert practice[0].user.email not in event.to_ical().decode()  # the practice's address, not a personal one


def test_a_relative_s_invitation_addresses_the_proxy(practice, smtp):
    parent = factories.make_user(locale="en")
    child = factories.make_relative(parent)
    book(practice, local_start(5, 10), parent, patient_id=child.id)
    send_due_notifications()
    [message] = smtp.messages
    attendee = calendar_event(message)["ATTENDEE"]
    assert str(attendee).lower() == f"mailto:{parent.email}"
