"""Proving an account reads its email address: the link sent, and its confirmation.

Services flush but never commit; the caller wraps them in `transaction()`.
"""

from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.accounts.errors import (
    InvalidAccountData,
)
from webapp.accounts.models import (
    User,
)
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notifications import messages
from webapp.signing import link_serializer, read_link
from webapp.urls import external_url


def send_email_confirmation(user: User) -> None:
    """Queue the link that proves the account owns its email address."""
    token = link_serializer("email-confirmation").dumps({"user_id": user.id, "email": user.email})
    messages.notify_account_confirmation(
        key=messages.token_key("account-confirmation", user.id, token), to=user.email, locale=user.locale,
        confirm_url=external_url("accounts.confirm_email", token=token), user_id=user.id,
    )


def confirm_email(token: str) -> User:
    """Mark the address confirmed; the link is valid for the configured days
    and only for the address it was sent to."""
    data = read_link("email-confirmation", token,
                     max_age_seconds=current_app.config["CARNET_EMAIL_CONFIRMATION_DAYS"] * 86400)
    user = db.session.get(User, data.get("user_id")) if data else None
    if user is None or user.email != data.get("email"):
        raise InvalidAccountData(_l("This confirmation link is invalid or has expired."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = now_utc()
    return user
