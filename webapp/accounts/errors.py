"""Errors raised by the accounts services."""

from flask_babel import lazy_gettext as _l

from webapp.errors import CarnetError, Conflict, Forbidden, InvalidInput, NotAuthenticated


class EmailTaken(Conflict):
    code = "email_taken"
    default_message = _l("An account already exists with this email address.")


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    keeps_writes = True
    default_message = _l("Wrong email or password.")


class TotpRequired(NotAuthenticated):
    code = "totp_required"
    keeps_writes = True
    default_message = _l("A valid two-factor authentication code is required.")


class WrongPassword(InvalidCredentials):
    code = "wrong_password"
    default_message = _l("This password is not right.")


class ReauthRequired(NotAuthenticated):
    code = "reauth_required"
    default_message = _l("Confirm your identity again: request a new token with your password (and code) to do this.")


class AccountLocked(CarnetError):
    status = 429
    code = "account_locked"
    keeps_writes = True  # the refused attempt is audited
    default_message = _l("Too many failed attempts: this account is locked for a while. "
                         "Try again later or reset your password.")


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
    keeps_writes = True  # the refusal of a known token is audited
    default_message = _l("The access token is missing, expired or revoked.")


class InvalidAccountData(InvalidInput):
    pass


class PractitionerNotVerified(Forbidden):
    """Raised by `webapp.accounts.verification.require_verified`, the one home of the rule."""

    code = "practitioner_not_verified"
    default_message = _l("This practitioner account is not verified yet. Until the Carnet team verifies it, only "
                         "opening hours, visit reasons, absences and the subscription can be set up: no listing, "
                         "no booking, no desk and no notebook.")
    rejected_message = _l("This practitioner account was not verified by the Carnet team: it cannot be listed or "
                          "booked, nor use the desk or the notebooks.")


class DirectoryMismatch(Conflict):
    code = "directory_mismatch"
    default_message = _l("The RPPS number, last name and first name do not match an active entry of the public "
                         "RPPS directory: verify with documents instead, or reject.")


class DirectoryFileError(InvalidInput):
    code = "invalid_directory_file"
    default_message = _l("This file is not an extract of the RPPS directory.")
