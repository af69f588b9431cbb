"""Errors raised by the invitation services."""

from flask_babel import lazy_gettext as _l

from webapp.errors import CarnetError, Conflict, Forbidden, InvalidInput


class InvitationUnavailable(CarnetError):
    """The link cannot be claimed (any more): the page says why, never a 500."""


class InvalidInvitation(InvitationUnavailable):
    status = 404
    code = "invitation_invalid"
    default_message = _l("This invitation link is not valid. Check that you copied it whole.")


class InvitationExpired(InvitationUnavailable):
    status = 410
    code = "invitation_expired"
    default_message = _l("This invitation link has expired. Ask the practice to send you a new one.")


class InvitationReplaced(InvitationUnavailable):
    status = 410
    code = "invitation_replaced"
    default_message = _l("A newer invitation was sent for this profile: use the link in the latest email.")


class InvitationUsed(InvitationUnavailable):
    status = 409
    code = "invitation_used"
    default_message = _l("This invitation has already been used. Log in to your account to see your notebook.")


class ProfileAlreadyClaimed(Conflict):
    code = "profile_claimed"
    default_message = _l("This patient already has a Carnet account.")


class InvitationWithdrawn(InvitationUnavailable):
    status = 410
    code = "invitation_withdrawn"
    default_message = _l("This invitation is no longer valid: someone now acts for this profile. "
                         "Ask them to give you your own account from their account page.")


class ProfileHasProxy(Conflict):
    code = "profile_has_proxy"
    default_message = _l("Someone already acts for this patient in Carnet: only they can give the patient "
                         "their own account.")


class InvitationPending(Conflict):
    code = "invitation_pending"
    default_message = _l("An invitation is waiting to be used: its address cannot change until it expires. "
                         "Send it again to the same address if needed.")


class InvitationRefused(Forbidden):
    code = "invitation_refused"


class InvalidInvitationData(InvalidInput):
    pass
