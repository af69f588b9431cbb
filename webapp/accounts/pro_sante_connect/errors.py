"""Why a Pro Santé Connect login is refused: a reason code for the audit
trail, a status and a message for the person."""

from flask_babel import lazy_gettext as _l

from webapp.errors import CarnetError


class ProSanteConnectError(CarnetError):
    """A refused login. `reason` is the code audited with `login.failure`;
    `user_id` names the account concerned, when there is one."""

    status = 403
    code = "pro_sante_connect_refused"
    default_message = _l("Pro Santé Connect did not confirm who you are, so you are not logged in. "
                         "Start again from the login page.")

    def __init__(self, reason: str, message=None, *, user_id: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.user_id = user_id


class LoginExpired(ProSanteConnectError):
    """The callback does not belong to a login started in this browser
    (state unknown, reused or expired), or lacks the code."""

    status = 400
    default_message = _l("This Pro Santé Connect login has expired or was started in another window. "
                         "Start again from the login page.")


class NoValidRpps(ProSanteConnectError):
    default_message = _l("Your Pro Santé Connect identity carries no valid RPPS number, "
                         "and a practitioner account on Carnet needs one.")


class AccountCannotLogIn(ProSanteConnectError):
    default_message = _l("The Carnet account of this RPPS number cannot log in. "
                         "Contact Carnet's support.")


class ProviderUnavailable(ProSanteConnectError):
    status = 503
    default_message = _l("Pro Santé Connect cannot be reached right now. "
                         "Try again in a moment, or log in with your password.")


class LoginCancelled(Exception):
    """The person declined at Pro Santé Connect (`error=access_denied`)."""
