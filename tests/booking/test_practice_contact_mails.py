"""The practice's phone in the booking mails: confirmation, move, reminders (too late to
cancel online: call the practice) and cancellation."""

import datetime as dt

import pytest

from tests import factories
from tests.booking.factories import local_start, open_practice
from tests.notifications.factories import outbox
from webapp.booking import appointments
from webapp.notifications.models import Channel
from webapp.notifications.services import open_email, open_sms
from webapp.transaction import transaction

PHONE_LINE = "Téléphone du cabinet : 01 42 00 00 00"


pytestmark = pytest.mark.usefixtures("in_request")  # services run inside a request


@pytest.fixture
def patient():
    return factories.make_patient(phone="+33612345678")


def practice_with(phone="+33142000000", hours=24):
    return open_practice(factories.make_practitioner(phone=phone), cancellation_deadline_hours=hours)


def book(practice, start, by):
    practitioner, reason = practice
    with transaction():
        return appointments.book_appointment(practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=start,
                                         by=by)


def email_text(key: str) -> str:
    [row] = outbox(key=key, channel=Channel.EMAIL)
    return open_email(row).text


def test_the_confirmation_gives_the_phone_and_until_when_to_cancel_online(patient):
    appointment = book(practice_with(), local_start(5, 10), patient.account)
    text = email_text(f"booking-confirmed:{appointment.id}")
    assert PHONE_LINE in text
    assert "Vous pouvez l'annuler ou le déplacer en ligne jusqu'au" in text
    assert "Ensuite, appelez le cabinet au 01 42 00 00 00." in text


def test_a_reminder_past_the_deadline_says_to_call_the_practice(patient):
    appointment = book(practice_with(hours=24), local_start(5, 10), patient.account)
    key = f"reminder:appointment:{appointment.id}"
    two_days, two_hours = email_text(f"{key}:48h"), email_text(f"{key}:2h")
    assert PHONE_LINE in two_days and PHONE_LINE in two_hours
    assert "trop tard" not in two_days.lower()
    assert "Il est trop tard pour annuler en ligne. Si vous ne pouvez pas venir, appelez le cabinet au " \
           "01 42 00 00 00" in two_hours
    [sms_two_hours] = outbox(key=f"{key}:2h", channel=Channel.SMS)
    [sms_two_days] = outbox(key=f"{key}:48h", channel=Channel.SMS)
    assert "Trop tard pour annuler en ligne : appelez le cabinet au 01 42 00 00 00." in open_sms(sms_two_hours).text
    assert "Pour annuler : http://carnet.test/appointments/" in open_sms(sms_two_days).text


def test_the_move_and_the_cancellation_carry_the_phone(patient):
    appointment = book(practice_with(), local_start(5, 10), patient.account)
    new_start = local_start(8, 15)
    with transaction():
        appointments.reschedule_appointment(appointment.id, new_start_at=new_start, by=patient.account)
    moved = email_text(f"booking-rescheduled:{appointment.id}:{new_start.astimezone(dt.UTC).isoformat()}")
    assert PHONE_LINE in moved and "Ensuite, appelez le cabinet au 01 42 00 00 00." in moved
    with transaction():
        appointments.cancel_appointment(appointment.id, by=patient.account)
    cancelled = email_text(f"booking-cancelled:{appointment.id}:patient")
    assert "Une question ? Appelez le cabinet au 01 42 00 00 00." in cancelled
    to_practice = email_text(f"booking-cancelled:{appointment.id}:practitioner")
    assert "01 42 00 00 00" not in to_practice


def test_without_a_practice_phone_the_mails_still_say_what_to_do(patient):
    appointment = book(practice_with(phone=None), local_start(5, 10), patient.account)
    text = email_text(f"booking-confirmed:{appointment.id}")
    assert "Téléphone du cabinet" not in text and "Ensuite, appelez le cabinet." in text
    two_hours = email_text(f"reminder:appointment:{appointment.id}:2h")
    assert "Il est trop tard pour annuler en ligne. Si vous ne pouvez pas venir, appelez le cabinet pour" in two_hours


def test_the_demo_practices_and_patients_have_fictional_phones(app):
    import sqlalchemy as sa

    from webapp.accounts.models import PatientProfile, PractitionerProfile
    from webapp.extensions import db

    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    verified = list(db.session.scalars(sa.select(PractitionerProfile).where(PractitionerProfile.is_verified)))
    assert verified and all(p.phone and p.address and p.postcode and p.city for p in verified)
    paris = next(p for p in verified if p.postcode == "75011")
    assert paris.phone.startswith("+3319900")  # the ARCEP range kept for fiction
    accounts = list(db.session.scalars(sa.select(PatientProfile).where(PatientProfile.account_id.is_not(None))))
    assert accounts and all(p.phone.startswith("+26263998") for p in accounts)


def test_no_sms_reminder_to_a_landline():
    landline = factories.make_patient(phone="+33142000001")
    appointment = book(practice_with(), local_start(5, 10), landline.account)
    assert outbox(channel=Channel.SMS) == []
    assert outbox(key=f"reminder:appointment:{appointment.id}:2h", channel=Channel.EMAIL)
