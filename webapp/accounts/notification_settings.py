"""An account's notification settings: which channels it can receive, and its
choices per category and channel.

Notifications knows no account: it stores the choices of a user id. What an
account can receive depends on the account, so it is decided here:
- SMS need a mobile number on the account's own patient profile (a French
  landline cannot receive them);
- email choices need a confirmed address (the account proved it reads it).
A channel the account cannot use is shown disabled, with why and how to
make it usable; turning it on is refused (`ChannelUnavailable`), turning it
off never is.

Services flush but never commit; the caller wraps them in `transaction()`.
"""

from flask_babel import lazy_gettext as _l

from webapp.accounts.models import User
from webapp.accounts.phones import display_phone, is_mobile
from webapp.errors import Forbidden, InvalidInput
from webapp.notifications.models import Category, Channel
from webapp.notifications.services import notification_preferences, set_notification_preferences


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


def notification_choices(user: User) -> dict[tuple[Category, Channel], bool]:
    """Every category the account may turn off, per channel, with its current state."""
    return notification_preferences(user.id)


def set_notification_choices(user: User, choices: dict[tuple[Category, Channel], bool], *, by: User) -> int:
    """Turn categories on or off per channel for `user` (see
    `notifications.services.set_notification_preferences` for the rules it
    keeps: the user themself only, security and billing notices always on).
    A channel the account cannot receive cannot be turned on; one already on
    stays as it is. Returns how many settings changed."""
    if by.id != user.id:
        raise Forbidden()  # before reading anything: the settings are the user's own
    current = notification_preferences(user.id)
    unavailable = unavailable_channels(user)
    for (category, channel), enabled in choices.items():
        key = (Category(category), Channel(channel))
        # `current` holds only the categories that can be turned off; a choice
        # on another one is refused by the notifications service below.
        if enabled and key[1] in unavailable and key in current and not current[key]:
            raise ChannelUnavailable(unavailable[key[1]])
    return set_notification_preferences(user.id, choices, by_id=by.id)
