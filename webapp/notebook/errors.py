"""Errors raised by the notebook services."""

from flask_babel import lazy_gettext as _l

from webapp.errors import CarnetError, Conflict, Forbidden, InvalidInput, NotFound


class InvalidEntry(InvalidInput):
    code = "invalid_entry"
    default_message = _l("Some fields of the entry are not valid.")


class InvalidAppointmentLink(InvalidInput):
    code = "invalid_appointment"
    default_message = _l("This appointment is not one of this patient's visits with you.")


class UnknownPractitioner(InvalidInput):
    code = "unknown_practitioner"
    default_message = _l("Some of these practitioners do not exist.")


class AuthorAlwaysSees(InvalidInput):
    code = "author_always_sees"
    default_message = _l("The author of an entry always sees it: it cannot be hidden from them.")


class AlreadySuperseded(Conflict):
    code = "already_superseded"
    default_message = _l("This entry has already been corrected: correct its latest version.")


class AlreadyHasAccess(Conflict):
    code = "already_has_access"
    default_message = _l("You already have access to this notebook.")


class NotEntryAuthor(Forbidden):
    code = "not_entry_author"
    default_message = _l("Only the author of this entry can correct it or add files to it.")


class PatientSideOnly(Forbidden):
    code = "patient_side_only"
    default_message = _l("Only the patient and the people acting for them can do this.")


class ReadOnlyAccess(Forbidden):
    code = "read_only_access"
    default_message = _l("Emergency access lets you read this notebook, not write in it.")


class EmergencyPatientNotFound(NotFound):
    """No patient with this id and this identity: the same code and message as
    `NotFound`, so the answer is the same as for an id that does not exist.
    The refused attempt stays audited and the TOTP code used."""

    keeps_writes = True


class EmergencyAccessLocked(Forbidden):
    code = "emergency_access_locked"
    keeps_writes = True  # the refused attempt is audited and its code used
    default_message = _l("The patient has locked emergency access to their notebook.")


class EmergencyAccessLimitReached(CarnetError):
    status = 429
    code = "emergency_access_limit"
    keeps_writes = True  # the refused attempt is audited, its code used, and the operator alerted
    default_message = _l("You have reached the number of emergency accesses allowed in 24 hours. "
                         "The operator has been told; contact them if a patient still needs care.")


class VisitNotBegun(Forbidden):
    code = "visit_not_begun"
    default_message = _l("You can write in this notebook once a visit with the patient has begun.")


class UnsupportedFileType(InvalidInput):
    code = "unsupported_file_type"
    default_message = _l("Only PDF, PNG and JPEG files are accepted.")


class EmptyFile(InvalidInput):
    code = "empty_file"
    default_message = _l("The file is empty.")


class AttachmentTooLarge(CarnetError):
    status = 413
    code = "attachment_too_large"
    default_message = _l("The file is too large.")
