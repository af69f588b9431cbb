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
from flask_babel import force_locale
from flask_babel import gettext as _

from webapp.accounts.models import PractitionerProfile
from webapp.booking.labels import feed_label, label_text, reason_in_messages
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


def _event(*, uid: str, stamp, start_at, end_at, location: str, cancelled: bool, sequence: int,
           summary: str, description: str, link: str) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start_at)
    event.add("dtend", end_at)
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", description)
    event.add("url", link)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    # Each move or cancellation is a new revision of the same event.
    event.add("sequence", sequence)
    return event


def _appointment_facts(appointment: Appointment) -> dict:
    """What a calendar event of the appointment says, as plain data."""
    return {"uid": appointment_uid(appointment), "stamp": appointment.status_changed_at or appointment.created_at,
            "start_at": appointment.start_at, "end_at": appointment.end_at,
            "location": _address(appointment.practitioner),
            "cancelled": appointment.status is AppointmentStatus.CANCELLED, "sequence": appointment.ics_sequence}


def _calendar(name: str, method: str = PUBLISH) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    return calendar


def _patient_facts(appointment: Appointment) -> dict:
    """The patient's event as plain data (JSON once datetimes are encoded), so that a mail's copy
    can be written at send time from what was true when the message was queued."""
    return _appointment_facts(appointment) | {
        "link": external_url("booking.my_appointment", appointment_id=appointment.id),
        "reason": reason_in_messages(appointment.visit_reason), "patient_name": appointment.patient.full_name,
        "practitioner_name": appointment.practitioner.full_name}


def _patient_calendar(facts: dict, method: str) -> tuple[icalendar.Calendar, icalendar.Event]:
    """Written in the current locale: address and the link to cancel or move it; the reason
    only if the practitioner shows it in messages (webapp.booking.labels)."""
    reason, link = facts["reason"], facts["link"]
    description = "\n".join([
        *([_("Visit reason: %(reason)s", reason=reason)] if reason else []),
        _("Patient: %(name)s", name=facts["patient_name"]),
        _("Address: %(address)s", address=facts["location"]),
        _("To cancel or move this appointment: %(url)s", url=link),
    ])
    calendar = _calendar(_("Appointment with %(name)s", name=facts["practitioner_name"]), method)
    event = _event(**{name: facts[name] for name in _EVENT_FACTS},
                   summary=label_text(reason, facts["practitioner_name"]), description=description, link=link)
    calendar.add_component(event)
    return calendar, event


_EVENT_FACTS = ("uid", "stamp", "start_at", "end_at", "location", "cancelled", "sequence")


def appointment_calendar(appointment: Appointment) -> bytes:
    """The patient's copy to download, published (no organizer, no attendee)."""
    return _patient_calendar(_patient_facts(appointment), PUBLISH)[0].to_ical()


def invitation_method(appointment: Appointment) -> str:
    """`CANCEL` once the appointment is cancelled, `REQUEST` otherwise."""
    return CANCEL if appointment.status is AppointmentStatus.CANCELLED else REQUEST


def invitation_facts(appointment: Appointment, *, attendee_name: str, attendee_email: str, locale: str) -> dict:
    """What `render_invitation` needs, taken now: the booking stores it with the mail and the
    sender writes the file, so the file says what was true when the mail was queued."""
    return _patient_facts(appointment) | {"method": invitation_method(appointment), "locale": locale,
                                          "attendee_name": attendee_name, "attendee_email": attendee_email}


def render_invitation(facts: dict) -> bytes:
    """The patient's copy sent by mail, as an iTIP message (`invitation_method`), in the facts' locale.

    The organizer is the practice: the practitioner's name at Carnet's own
    sending address, which sends on its behalf (never a personal address);
    the attendee is the mail's recipient, already accepted (booking is the
    answer) and asked for no reply, since nobody reads Carnet's mailbox."""
    with force_locale(facts["locale"]):
        calendar, event = _patient_calendar(facts, facts["method"])
    sender = email.utils.parseaddr(current_app.config["CARNET_MAIL_FROM"])[1]
    organizer = icalendar.vCalAddress(f"mailto:{sender}")
    organizer.params["cn"] = icalendar.vText(facts["practitioner_name"])
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{facts['attendee_email']}")
    attendee.params.update({"cutype": "INDIVIDUAL", "role": "REQ-PARTICIPANT", "partstat": "ACCEPTED",
                            "rsvp": "FALSE"})
    if facts["attendee_name"]:
        attendee.params["cn"] = icalendar.vText(facts["attendee_name"])
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
            **_appointment_facts(appointment), summary=feed_label(appointment, show_names=show_names),
            description="\n".join([
                *([_("Visit reason: %(reason)s", reason=reason)] if reason else []),
                _("Details: %(url)s", url=link),
            ]),
            link=link,
        ))
    return calendar.to_ical()
