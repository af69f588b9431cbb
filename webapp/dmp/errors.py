"""Errors raised by the shared-record connector."""

from flask_babel import lazy_gettext as _l

from webapp.errors import CarnetError, Conflict, Forbidden, InvalidInput


class InvalidIns(InvalidInput):
    code = "invalid_ins"
    default_message = _l(
        "This INS is not a valid social security number (NIR): it must have 15 characters "
        "and its last two digits (the key) must match the first thirteen.")


class InsTraitsMismatch(InvalidInput):
    code = "ins_traits_mismatch"
    default_message = _l(
        "This INS does not match the patient: the sex, birth year or birth month written in the number "
        "differs from the patient's profile (a relative's carte Vitale?).")


class QualificationNotAllowed(Forbidden):
    code = "qualification_not_allowed"
    default_message = _l(
        "Only a treating practitioner or clinic staff, after checking an identity document, can validate an INS.")


class InsiAnswerRequired(Forbidden):
    code = "insi_answer_required"
    default_message = _l(
        "An INS becomes qualified or recovered only from an answer of the INSi teleservice: "
        "record it as validated after checking an identity document, then ask INSi to verify it.")


class InsRequired(Conflict):
    code = "ins_not_recorded"
    default_message = _l("Record the patient's INS before asking the INSi teleservice to verify it.")


class InsiUnavailable(CarnetError):
    status = 503
    code = "insi_unavailable"
    default_message = _l("The INSi teleservice could not be reached or is not configured. Try again later.")


class InsiTraitsIncomplete(Conflict):
    code = "insi_traits_incomplete"
    default_message = _l("Record the patient's sex before asking the INSi teleservice: it is one of the traits "
                         "the teleservice searches with.")


class InsiNotConfirmed(Conflict):
    """Its audit event is kept: a refused verification is part of the identity's history."""

    code = "insi_not_confirmed"
    keeps_writes = True
    default_message = _l(
        "The INSi teleservice found no identity with the patient's traits (birth name, first name, sex, "
        "birth date): the status is unchanged. Check the traits against the identity document.")


class InsiSeveralIdentities(InsiNotConfirmed):
    code = "insi_several_identities"
    default_message = _l(
        "The INSi teleservice found several identities with the patient's traits: the status is unchanged. "
        "Record all the first names of the identity document and ask again.")


class InsiInsDiffers(InsiNotConfirmed):
    code = "insi_ins_differs"
    default_message = _l(
        "The INSi teleservice returns another INS for the patient's traits: the recorded INS may be an old one "
        "or a relative's. The status is unchanged; check the number on the carte Vitale or the certificate.")


class InsiTraitsDiffer(InsiNotConfirmed):
    code = "insi_traits_differ"
    default_message = _l(
        "The identity the INSi teleservice returns differs from the patient's profile: the status is "
        "unchanged. Correct the profile from the identity document, then ask again.")


class PushNotRetryable(Conflict):
    code = "push_not_retryable"
    default_message = _l("Only a failed or cancelled push can be retried.")


class PushNotCancellable(Conflict):
    code = "push_not_cancellable"
    default_message = _l("Only a push that is waiting or failed can be cancelled.")
