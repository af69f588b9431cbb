"""Errors raised by the booking services."""

from flask_babel import lazy_gettext as _l

from webapp.errors import CarnetError, Conflict, InvalidInput, NotFound


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


class PatientNotFound(NotFound):
    code = "patient_not_found"
    default_message = _l("No such patient.")


class PatientNotIdentified(PatientNotFound):
    """No single profile has the identity the desk gave. The failure is
    counted and audited, and those writes are kept although the request fails."""

    default_message = _l("No patient has this identity (first name, last name and birth date).")
    keeps_writes = True


class TooManyIdentificationFailures(CarnetError):
    status = 429
    code = "identification_attempts_exceeded"
    default_message = _l("Too many identifications that matched no patient: wait before trying again, "
                         "or create the patient's profile.")


class PatientArrived(Conflict):
    code = "patient_arrived"
    default_message = _l("The patient was marked arrived: this visit cannot be a missed one.")


class TooEarlyForArrival(Conflict):
    code = "arrival_too_early"
    default_message = _l("A patient can be marked arrived only shortly before the appointment.")


class HoldNotFound(NotFound):
    code = "hold_not_found"
    default_message = _l("This slot is no longer kept for you. Please choose a slot again.")


def field_error(name: str, message) -> InvalidBookingData:
    """A bad field, with its message, in the form and API error format."""
    return InvalidBookingData(fields={name: [str(message)]})


def no_such_patient() -> NotFound:
    message = _l("No such patient.")
    return NotFound(message, fields={"patient_id": [str(message)]})
