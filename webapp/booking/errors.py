"""Errors raised by the booking services."""

from flask_babel import lazy_gettext as _l

from webapp.errors import Conflict, InvalidInput, NotFound


class SlotUnavailable(Conflict):
    code = "slot_unavailable"
    default_message = _l("This slot is no longer available. Please choose another one.")


class NotBookableOnline(Conflict):
    code = "practitioner_not_bookable"
    default_message = _l("This practitioner does not take online bookings at the moment.")


class CancellationDeadlinePassed(Conflict):
    code = "cancellation_deadline_passed"
    default_message = _l("It is too late to cancel or move this appointment online; please call the practice.")


class AppointmentNotActive(Conflict):
    code = "appointment_not_active"
    default_message = _l("This appointment is no longer active.")


class AppointmentNotStarted(Conflict):
    code = "appointment_not_started"
    default_message = _l("This appointment has not started yet.")


class ReasonNotForThisPatient(Conflict):
    code = "visit_reason_not_allowed"
    default_message = _l("This visit reason is not open to this patient.")


class InvalidBookingData(InvalidInput):
    pass


class NotASlotBoundary(InvalidInput):
    code = "not_a_slot_boundary"
    default_message = _l("This time is not the start of a slot.")


class BookingNotFound(NotFound):
    pass
