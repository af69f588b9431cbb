"""Errors raised by the notebook services."""

from flask_babel import lazy_gettext as _l

from webapp.errors import CarnetError, Conflict, Forbidden, InvalidInput


class InvalidEntry(InvalidInput):
    code = "invalid_entry"
    default_message = _l("Some fields of the entry are not valid.")


class InvalidAppointmentLink(InvalidInput):
    code = "invalid_appointment"
    default_message = _l("This appointment is not one of this patient's visits with you.")


class UnknownPractitioner(InvalidInput):
    code = "unknown_practitioner"
    default_message = _l("Some of these practitioners do not exist.")


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
