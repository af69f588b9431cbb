"""Which channels an account can choose messages on: the notification settings
offer only what the account can receive.

- SMS need a mobile number on the account's own patient profile (a French
  landline cannot receive them);
- email choices need a confirmed address (the account proved it reads it).
A channel the account cannot use is shown disabled, with why and how to
make it usable; turning it on is refused (`ChannelUnavailable`), turning it
off never is.
"""

from flask_babel import lazy_gettext as _l

from webapp.accounts.models import User
from webapp.accounts.phones import display_phone, is_mobile
from webapp.errors import InvalidInput
from webapp.notifications.models import Channel


class ChannelUnavailable(InvalidInput):
    code = "channel_unavailable"
    default_message = _l("This account cannot receive messages on this channel yet.")


def unavailable_channels(user: User) -> dict[Channel, str]:
    """The channels `user` cannot choose messages on now, each with the reason (a sentence)."""
    reasons = {}
    phone = user.patient_profile.phone if user.patient_profile is not None else None
    if not phone:
        reasons[Channel.SMS] = str(_l("No mobile number on your profile: Carnet cannot send you SMS."))
    elif not is_mobile(phone):
        reasons[Channel.SMS] = str(_l("%(phone)s is a landline: SMS cannot reach it. Give a mobile number on "
                                      "your profile.", phone=display_phone(phone)))
    if user.email_confirmed_at is None:
        reasons[Channel.EMAIL] = str(_l("Your email address is not confirmed yet: confirm it to choose which "
                                        "messages you receive by email."))
    return reasons
