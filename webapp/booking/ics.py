"""iCalendar documents: one appointment for the patient, the agenda feed for the practitioner.

Files that are downloaded or subscribed to are published (`METHOD:PUBLISH`).
Files sent by mail are iTIP messages (RFC 5546): a `REQUEST` from the
practice to the patient for a booking or a move, a `CANCEL` for a
cancellation, all with the same UID and a rising SEQUENCE, so that mail
clients add, move and remove the event in the patient's calendar.
"""

import email.utils
from urllib.parse import urlsplit

import icalendar
from flask import current_app
from flask_babel import gettext as _

from webapp.accounts.models import PractitionerProfile
from webapp.booking.labels import appointment_label, feed_label, reason_in_messages
from webapp.booking.models import Appointment, AppointmentStatus
from webapp.urls import external_url

PRODUCT_ID = "-//Carnet//Booking//FR"
REQUEST, CANCEL, PUBLISH = "REQUEST", "CANCEL", "PUBLISH"


def feed_url(token: str) -> str:
    """The secret address of a practitioner's agenda feed."""
    return external_url("booking.calendar_feed", token=token)


def appointment_uid(appointment: Appointment) -> str:
    """Stable across reschedules and cancellation, so calendars update the event."""
    host = urlsplit(current_app.config["CARNET_BASE_URL"]).hostname or "carnet"
    return f"appointment-{appointment.id}@{host}"


def _address(practitioner: PractitionerProfile) -> str:
    return f"{practitioner.address}, {practitioner.postcode} {practitioner.city}"


def _event(appointment: Appointment, *, summary: str, description: str, link: str) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", appointment_uid(appointment))
    event.add("dtstamp", appointment.status_changed_at or appointment.created_at)
    event.add("dtstart", appointment.start_at)
    event.add("dtend", appointment.end_at)
    event.add("summary", summary)
    event.add("location", _address(appointment.practitioner))
    event.add("description", description)
    event.add("url", link)
    cancelled = appointment.status is AppointmentStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # Each move or cancellation is a new revision of the same event.
    event.add("sequence", appointment.ics_sequence)
    return event


def _calendar(name: str, method: str = PUBLISH) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    return calendar


def _patient_calendar(appointment: Appointment, method: str) -> tuple[icalendar.Calendar, icalendar.Event]:
    practitioner = appointment.practitioner
    link = external_url("booking.my_appointment", appointment_id=appointment.id)
    reason = reason_in_messages(appointment.visit_reason)
    description = "\n".join([
        *([_("Visit reason: %(reason)s", reason=reason)] if reason else []),
        _("Patient: %(name)s", name=appointment.patient.full_name),
        _("Address: %(address)s", address=_address(practitioner)),
        _("To cancel or move this appointment: %(url)s", url=link),
    ])
    calendar = _calendar(_("Appointment with %(name)s", name=practitioner.full_name), method)
    event = _event(appointment, summary=appointment_label(appointment), description=description, link=link)
    calendar.add_component(event)
    return calendar, event


def appointment_calendar(appointment: Appointment) -> bytes:
    """The patient's copy to download: address and the link to cancel or move
    it; the reason only if the practitioner shows it in messages (webapp.booking.labels)."""
    return _patient_calendar(appointment, PUBLISH)[0].to_ical()


def invitation_method(appointment: Appointment) -> str:
    """`CANCEL` once the appointment is cancelled, `REQUEST` otherwise."""
    return CANCEL if appointment.status is AppointmentStatus.CANCELLED else REQUEST


def appointment_invitation(appointment: Appointment, *, attendee_name: str, attendee_email: str) -> bytes:
    """The patient's copy sent by mail, as an iTIP message (`invitation_method`).

    The organizer is the practice: the practitioner's name at Carnet's own
    sending address, which sends on its behalf (never a personal address);
    the attendee is the mail's recipient, already accepted (booking is the
    answer) and asked for no reply, since nobody reads Carnet's mailbox."""
    calendar, event = _patient_calendar(appointment, invitation_method(appointment))
    sender = email.utils.parseaddr(current_app.config["CARNET_MAIL_FROM"])[1]
    organizer = icalendar.vCalAddress(f"mailto:{sender}")
    organizer.params["cn"] = icalendar.vText(appointment.practitioner.full_name)
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{attendee_email}")
    attendee.params.update({"cutype": "INDIVIDUAL", "role": "REQ-PARTICIPANT", "partstat": "ACCEPTED",
                            "rsvp": "FALSE"})
    if attendee_name:
        attendee.params["cn"] = icalendar.vText(attendee_name)
    event.add("attendee", attendee)
    return calendar.to_ical()


def agenda_calendar(practitioner: PractitionerProfile, appointments: list[Appointment], *,
                    show_names: bool = False) -> bytes:
    """The practitioner's feed, read by a third-party calendar: initials unless
    `show_names`, a reason only if shown in messages, never the patient's message."""
    calendar = _calendar(_("Carnet agenda of %(name)s", name=practitioner.full_name))
    for appointment in appointments:
        link = external_url("booking.agenda_appointment", appointment_id=appointment.id)
        reason = reason_in_messages(appointment.visit_reason)
        calendar.add_component(_event(
            appointment, summary=feed_label(appointment, show_names=show_names),
            description="\n".join([
                *([_("Visit reason: %(reason)s", reason=reason)] if reason else []),
                _("Details: %(url)s", url=link),
            ]),
            link=link,
        ))
    return calendar.to_ical()
