"""Errors raised by the accounts services."""

from flask_babel import lazy_gettext as _l

from webapp.errors import CarnetError, Conflict, InvalidInput, NotAuthenticated


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
    default_message = _l("Too many failed attempts: this account is locked for a while. Try again later or reset your password.")


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
    default_message = _l("The access token is missing, expired or revoked.")


class InvalidAccountData(InvalidInput):
    pass
