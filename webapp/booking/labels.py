"""What an appointment is called once it leaves Carnet: mails, SMS, calendar files, the agenda feed.

A visit reason can reveal health ("Suivi psychiatrique"), and what leaves
Carnet lands on lock screens, in shared mailboxes and in third-party
calendars. So the reason goes out only when the practitioner marked it as
shown in messages; otherwise the appointment is "Rendez-vous avec <name>".
The practitioner's feed names patients by their initials unless the
practitioner asked for full names. Every message and calendar file takes
its wording from here.
"""

from flask_babel import gettext as _

from webapp.accounts.models import PatientProfile
from webapp.booking.models import Appointment, VisitReason


def reason_in_messages(reason: VisitReason) -> str | None:
    """The reason's label where it may leave Carnet; None where it must not."""
    return reason.label if reason.shown_in_messages else None


def label_text(shown_reason: str | None, practitioner_name: str) -> str:
    """The title of an appointment for the patient side, from plain values as stored with a
    message: neutral unless a reason is shown (`reason_in_messages`)."""
    if shown_reason is None:
        return _("Appointment with %(name)s", name=practitioner_name)
    return _("%(reason)s with %(name)s", reason=shown_reason, name=practitioner_name)


def _initial(name: str) -> str:
    return next((char.upper() for char in name if char.isalpha()), "")


def patient_initials(patient: PatientProfile) -> str:
    """"M. L." for Marie Leroy."""
    return " ".join(f"{initial}." for initial in (_initial(patient.first_name), _initial(patient.last_name))
                    if initial)


def feed_label(appointment: Appointment, *, show_names: bool) -> str:
    """An event of the practitioner's feed: who (initials unless names are
    asked for) and why (only a reason shown in messages)."""
    who = appointment.patient.full_name if show_names else patient_initials(appointment.patient)
    return f"{who} · {reason_in_messages(appointment.visit_reason) or _('Appointment')}"
