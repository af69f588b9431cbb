"""Errors raised by the shared-record connector."""

from flask_babel import lazy_gettext as _l

from webapp.errors import Conflict, Forbidden, InvalidInput


class InvalidIns(InvalidInput):
    code = "invalid_ins"
    default_message = _l(
        "This INS is not a valid social security number (NIR): it must have 15 characters "
        "and its last two digits (the key) must match the first thirteen.")


class QualificationNotAllowed(Forbidden):
    code = "qualification_not_allowed"
    default_message = _l(
        "Only a treating practitioner or clinic staff, after checking an identity document, can qualify an INS.")


class PushNotRetryable(Conflict):
    code = "push_not_retryable"
    default_message = _l("Only a failed or cancelled push can be retried.")


class PushNotCancellable(Conflict):
    code = "push_not_cancellable"
    default_message = _l("Only a push that is waiting or failed can be cancelled.")
