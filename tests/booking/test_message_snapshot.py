"""Booking's messages are stored as the facts of the booking, encrypted, and written at send time."""

import icalendar
import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import local_start, open_practice
from tests.notifications.factories import outbox
from webapp.booking import appointments
from webapp.extensions import db
from webapp.notifications.messages import reminder_due_at
from webapp.notifications.models import Notification, NotificationStatus
from webapp.notifications.sender import send_due_notifications
from webapp.transaction import transaction


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


def _book(practice, start, by):
    practitioner, reason = practice
    with transaction():
        return appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id,
                                             start_at=start, by=by)


def _calendar_event(message) -> icalendar.Event:
    [attachment] = list(message.iter_attachments())
    return icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")[0]


def test_the_messages_keep_the_facts_of_booking_time_when_the_practice_changes_later(smtp):
    practice = open_practice(reason_overrides={"label": "Vaccination", "shown_in_messages": True})
    practitioner, reason = practice
    booked_address = f"{practitioner.address}, {practitioner.postcode} {practitioner.city}"
    appointment = _book(practice, local_start(5, 10), factories.make_patient().account)
    with transaction():
        practitioner.address, practitioner.city = "1 avenue Nouvelle", "Lyon"
        reason.label = "Rappel de vaccin"

    assert send_due_notifications().sent == 1  # the confirmation, rendered now from the stored facts
    [reminder] = outbox(key=f"reminder:appointment:{appointment.id}:48h")
    assert send_due_notifications(reminder.due_at).sent == 1
    confirmation, reminder_mail = smtp.messages
    for message in (confirmation, reminder_mail):
        text = message.get_body(("plain",)).get_content()
        assert booked_address in text and "Vaccination" in text
        assert "Nouvelle" not in text and "Lyon" not in text and "Rappel de vaccin" not in text
    event = _calendar_event(confirmation)
    assert str(event["LOCATION"]) == booked_address and "Vaccination" in str(event["SUMMARY"])


def test_the_outbox_holds_no_personal_data_in_clear():
    practice = open_practice(reason_overrides={"label": "Suivi-tres-sensible", "shown_in_messages": True})
    patient = factories.make_patient(first_name="Hortense", last_name="Zabrowski", phone="+33612345678")
    appointment = _book(practice, local_start(5, 10), patient.account)
    with transaction():
        appointments.reschedule_appointment(appointment.id, new_start_at=local_start(6, 11), by=patient.account)
    with transaction():
        appointments.cancel_appointment(appointment.id, by=patient.account)

    rows = db.session.execute(sa.select(Notification.__table__)).all()
    assert len(rows) >= 5  # confirmation, reminders, the move, the cancellations
    stored = " ".join(value.decode("latin-1") if isinstance(value, bytes) else str(value)
                      for row in rows for value in row)
    practitioner = practice[0]
    for secret in ("Hortense", "Zabrowski", patient.account.email, "612345678", "Suivi-tres-sensible",
                   practitioner.last_name, practitioner.address, practitioner.user.email):
        assert secret not in stored


def test_a_cancelled_appointment_s_reminders_are_withdrawn_and_the_cancellation_is_written_at_send_time(smtp):
    practice = open_practice()
    patient = factories.make_patient()
    appointment = _book(practice, local_start(5, 10), patient.account)
    with transaction():
        appointments.cancel_appointment(appointment.id, by=patient.account)

    reminders = outbox(key=f"reminder:appointment:{appointment.id}:48h") + outbox(
        key=f"reminder:appointment:{appointment.id}:2h")
    assert {row.status for row in reminders} == {NotificationStatus.CANCELLED}
    send_due_notifications()
    patient_copy = next(message for message in smtp.messages if message["To"] == patient.account.email
                        and "nnul" in message["Subject"])
    event = _calendar_event(patient_copy)
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 1


def test_a_booking_writes_its_messages_in_one_insert(count_queries):
    practice = open_practice()
    patient = factories.make_patient(phone="+33612345678")  # confirmation, two reminders by mail and by SMS
    with count_queries() as statements:
        appointment = _book(practice, local_start(5, 10), patient.account)
    inserts = [statement for statement in statements if statement.startswith("INSERT INTO notifications")]
    assert len(inserts) == 1
    assert len(outbox()) == 5 and {row.key for row in outbox()} >= {f"booking-confirmed:{appointment.id}"}


def test_a_move_back_reuses_the_withdrawn_reminders_in_the_same_batch():
    practice = open_practice()
    patient = factories.make_patient()
    first, second = local_start(5, 10), local_start(6, 11)
    appointment = _book(practice, first, patient.account)
    for start in (second, first):
        with transaction():
            appointments.reschedule_appointment(appointment.id, new_start_at=start, by=patient.account)

    reminders = outbox(key=f"reminder:appointment:{appointment.id}:48h")
    assert [row.status for row in reminders] == [NotificationStatus.PENDING]
    assert reminders[0].due_at == reminder_due_at(first, 48, "Europe/Paris")
