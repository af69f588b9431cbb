"""Booking's messages: receivers of `webapp.booking.signals` that queue them in the booking's transaction.

A rolled-back booking, cancellation or move therefore leaves no message and
no reminder behind. Notifications know nothing of booking: these receivers
give them plain data (recipient, names, times, links, the `.ics`).
"""

import dataclasses
import datetime as dt

import sqlalchemy as sa
from flask import current_app

from webapp.accounts.models import PatientProfile, PatientProxy, Role, User
from webapp.accounts.phones import display_phone, is_mobile
from webapp.booking import signals
from webapp.booking.appointments import patient_deadline_of
from webapp.booking.ics import invitation_facts, render_invitation
from webapp.booking.labels import label_text, reason_in_messages
from webapp.booking.models import Appointment, WaitlistEntry
from webapp.booking.settings import schedule_of
from webapp.extensions import db
from webapp.notifications import messages
from webapp.notifications.drafts import Later, register_renderer
from webapp.notifications.services import queued_together
from webapp.urls import external_url


@dataclasses.dataclass(frozen=True)
class Recipient:
    email: str
    locale: str | None
    user_id: int | None
    name: str = ""  # as the calendar invitation addresses them


def _of_user(user: User, name: str = "") -> Recipient:
    return Recipient(user.email, user.locale, user.id, name)


def _of_proxy(user: User) -> Recipient:
    return _of_user(user, user.patient_profile.full_name if user.patient_profile else "")


def patient_recipient(patient: PatientProfile, acting_user: User | None = None) -> Recipient | None:
    """Who hears about a patient's appointments: the profile's own account;
    else the account acting for them that booked (a relative), else the
    first account acting for them; else the email given at the desk."""
    if patient.account is not None:
        return _of_user(patient.account, patient.full_name)
    proxies = list(db.session.scalars(
        sa.select(User).join(PatientProxy, PatientProxy.user_id == User.id)
        .where(PatientProxy.patient_id == patient.id).order_by(PatientProxy.created_at, User.id)
    ))
    if acting_user is not None and acting_user in proxies:
        return _of_proxy(acting_user)
    if proxies:
        return _of_proxy(proxies[0])
    if patient.email:
        return Recipient(patient.email, None, None, patient.full_name)
    return None


def _practitioner_recipient(appointment: Appointment) -> Recipient:
    return _of_user(appointment.practitioner.user)


def _address(appointment: Appointment) -> str:
    practitioner = appointment.practitioner
    return f"{practitioner.address}, {practitioner.postcode} {practitioner.city}"


def _practice_contact(appointment: Appointment) -> dict:
    """The practice's phone as people read it, and until when the patient side cancels online."""
    return {"practice_phone": display_phone(appointment.practitioner.phone) or None,
            "cancel_until": patient_deadline_of(appointment)}


def _sms_number(patient: PatientProfile) -> str | None:
    """Where a patient's SMS go: their number if a text can reach it (not a French landline)."""
    return patient.phone if is_mobile(patient.phone) else None


def _locale_of(locale: str | None) -> str:
    return locale if locale in current_app.config["CARNET_LOCALES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


# The name under which the sender finds booking's calendar invitation (registered in
# `connect_booking_notifications`): notifications never import booking.
INVITATION_RENDERER = "booking.invitation"


def _ics_for(appointment: Appointment, recipient: Recipient) -> Later:
    """The appointment's calendar invitation (or cancellation) to the recipient, in
    their language: its facts now, the file written by the sender. Building the
    file here cost 29 % of a booking's messages (cProfile, 200 bookings)."""
    return Later(INVITATION_RENDERER, invitation_facts(
        appointment, attendee_name=recipient.name, attendee_email=recipient.email, locale=_locale_of(recipient.locale)))


# The appointment's title, written at send time in the recipient's language from the
# reason it may show (webapp.booking.labels): a `force_locale` in the request cost 0.3 ms.
LABEL_RENDERER = "booking.label"


def _label_later(appointment: Appointment) -> Later:
    return Later(LABEL_RENDERER, {"reason": reason_in_messages(appointment.visit_reason),
                                  "practitioner_name": appointment.practitioner.full_name})


def _render_label(facts: dict) -> str:
    return label_text(facts["reason"], facts["practitioner_name"])


def _appointment_key(appointment: Appointment) -> str:
    return f"appointment:{appointment.id}"


def _message_facts(appointment: Appointment) -> dict:
    """What the confirmation, a move and the reminders say of the appointment, taken once:
    the messages are written later from these facts, as they are now."""
    return {"practitioner_name": appointment.practitioner.full_name, "starts_at": appointment.start_at,
            "label": _label_later(appointment), "address": _address(appointment),
            "manage_url": external_url("booking.my_appointment", appointment_id=appointment.id),
            "timezone": schedule_of(appointment.practitioner_id).timezone, **_practice_contact(appointment)}


def _schedule_reminders(appointment: Appointment, recipient: Recipient, facts: dict) -> None:
    messages.schedule_reminders(appointment_key=_appointment_key(appointment), to=recipient.email,
                                locale=recipient.locale, phone=_sms_number(appointment.patient),
                                user_id=recipient.user_id, **facts)


def on_appointment_booked(sender, *, appointment: Appointment, actor: User, **extra) -> None:
    """Confirm to the patient side with the `.ics`, and queue the reminders, in one INSERT."""
    recipient = patient_recipient(appointment.patient, actor)
    if recipient is None:
        return
    facts = _message_facts(appointment)
    with queued_together():
        messages.notify_booking_confirmed(
            key=f"booking-confirmed:{appointment.id}", to=recipient.email, locale=recipient.locale,
            patient_name=appointment.patient.full_name, ics=_ics_for(appointment, recipient),
            user_id=recipient.user_id, **facts)
        _schedule_reminders(appointment, recipient, facts)


def on_appointment_cancelled(sender, *, appointment: Appointment, actor: User, reason: str | None = None,
                             **extra) -> None:
    """Withdraw the reminders and tell the other side: the practitioner when
    the patient side cancels, the patient (with the reason) when the
    practitioner or the clinic's staff do. The patient side always gets the
    cancelling `.ics`, so their calendar drops the event."""
    messages.cancel_reminders(appointment_key=_appointment_key(appointment))
    timezone = schedule_of(appointment.practitioner_id).timezone
    cancelled_by = "patient" if actor.role is Role.PATIENT else "practitioner"
    if cancelled_by == "patient":
        practitioner = _practitioner_recipient(appointment)
        messages.notify_booking_cancelled(
            key=f"booking-cancelled:{appointment.id}:practitioner", to=practitioner.email, locale=practitioner.locale,
            recipient_role="practitioner", cancelled_by="patient", counterpart_name=appointment.patient.full_name,
            starts_at=appointment.start_at, timezone=timezone, user_id=practitioner.user_id,
        )
    recipient = patient_recipient(appointment.patient, appointment.booked_by)
    if recipient is None:
        return
    messages.notify_booking_cancelled(
        key=f"booking-cancelled:{appointment.id}:patient", to=recipient.email, locale=recipient.locale,
        recipient_role="patient", cancelled_by=cancelled_by, counterpart_name=appointment.practitioner.full_name,
        starts_at=appointment.start_at, timezone=timezone, reason=reason if cancelled_by == "practitioner" else None,
        book_url=external_url("booking.practitioner_page", practitioner_id=appointment.practitioner_id),
        ics=_ics_for(appointment, recipient), user_id=recipient.user_id,
        practice_phone=_practice_contact(appointment)["practice_phone"],
    )


def on_appointment_rescheduled(sender, *, appointment: Appointment, actor: User, previous_start_at: dt.datetime,
                               **extra) -> None:
    """Tell the patient side the new time with the updated `.ics`; the
    reminders follow the appointment to its new time."""
    messages.cancel_reminders(appointment_key=_appointment_key(appointment))
    recipient = patient_recipient(appointment.patient, appointment.booked_by)
    if recipient is None:
        return
    facts = _message_facts(appointment)
    with queued_together():
        messages.notify_booking_rescheduled(
            key=f"booking-rescheduled:{appointment.id}:{appointment.start_at.isoformat()}", to=recipient.email,
            locale=recipient.locale, previous_starts_at=previous_start_at, ics=_ics_for(appointment, recipient),
            user_id=recipient.user_id, **facts)
        _schedule_reminders(appointment, recipient, facts)


def on_waitlist_offer_made(sender, *, entry: WaitlistEntry, start_at: dt.datetime, **extra) -> None:
    """Offer the freed time to the waiting patient; the offer lapses when
    the practitioner's minimum notice makes it no longer bookable online."""
    recipient = patient_recipient(entry.patient, db.session.get(User, entry.created_by_user_id))
    if recipient is None:
        return
    schedule = schedule_of(entry.practitioner_id)
    messages.notify_waitlist_offer(
        key=f"waitlist-offer:{entry.id}:{start_at.isoformat()}", to=recipient.email, locale=recipient.locale,
        practitioner_name=entry.practitioner.full_name, starts_at=start_at,
        book_url=external_url("booking.book", practitioner_id=entry.practitioner_id, reason=entry.visit_reason_id,
                              start=start_at.isoformat()),
        expires_at=start_at - dt.timedelta(minutes=schedule.min_notice_minutes), timezone=schedule.timezone,
        phone=_sms_number(entry.patient), user_id=recipient.user_id,
    )


def connect_booking_notifications() -> None:
    """Connect the receivers (at app creation; connecting twice is harmless)."""
    register_renderer(INVITATION_RENDERER, render_invitation)
    register_renderer(LABEL_RENDERER, _render_label)
    signals.appointment_booked.connect(on_appointment_booked)
    signals.appointment_cancelled.connect(on_appointment_cancelled)
    signals.appointment_rescheduled.connect(on_appointment_rescheduled)
    signals.waitlist_offer_made.connect(on_waitlist_offer_made)
