"""Changing an account's email address: the current password, a link to the
new address, and a notice to the old one.

Services flush but never commit; the caller wraps them in `transaction()`.
"""

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.accounts import passwords
from webapp.accounts.authentication import confirm_current_password
from webapp.accounts.errors import InvalidAccountData
from webapp.accounts.models import User
from webapp.accounts.registration import find_user_by_email, normalize_email
from webapp.audit.services import record_event
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notifications import messages
from webapp.signing import link_serializer, read_link
from webapp.urls import external_url

_LINK = "email-change"


def request_email_change(user: User, *, current_password: str, new_email: str) -> None:
    """Send a link to `new_email` that moves the account there once opened.

    The current password is required (a failure counts towards the
    lock-out). The answer is the same whether or not another account uses
    the new address, so the page tells no one who has an account: the link
    only goes to a free address. The current address is told in any case,
    so that someone holding a session cannot take the account quietly."""
    confirm_current_password(user, current_password, purpose="email_change")
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise InvalidAccountData(fields={"email": [str(_l("This is already your email address."))]})
    if find_user_by_email(new_email) is None:
        token = link_serializer(_LINK).dumps({"user_id": user.id, "from": user.email, "to": new_email,
                                              "fp": passwords.fingerprint(user.password_hash)})
        messages.notify_email_change_link(
            key=messages.token_key(_LINK, user.id, token), to=new_email, locale=user.locale, user_id=user.id,
            confirm_url=external_url("accounts.confirm_email_change", token=token))
    messages.notify_email_change_requested(
        key=f"email-change-requested:{user.id}:{now_utc().isoformat()}", to=user.email, locale=user.locale,
        user_id=user.id)
    record_event("email.change_requested", actor=user, target_type="user", target_id=user.id)


def confirm_email_change(token: str) -> User:
    """Move the account to the address the link was sent to: valid for the
    configured days, and only while the account keeps the address and the
    password it was asked with (a link is used once; changing the password
    cancels a move asked by someone else)."""
    data = read_link(_LINK, token, max_age_seconds=current_app.config["CARNET_EMAIL_CONFIRMATION_DAYS"] * 86400)
    user = db.session.get(User, data.get("user_id")) if data else None
    if user is None or user.email != data.get("from") or data.get("fp") != passwords.fingerprint(user.password_hash):
        raise InvalidAccountData(_l("This link is invalid or has expired."))
    if find_user_by_email(data["to"]) is not None:
        raise InvalidAccountData(_l("Another account uses this address now."))
    user.email = data["to"]
    user.email_confirmed_at = now_utc()
    profile = user.patient_profile
    if profile is not None and profile.email == data["from"]:
        profile.email = data["to"]  # the contact address the practices see follows the account's
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # Another account took the address meanwhile (the unique index decides).
        raise InvalidAccountData(_l("Another account uses this address now.")) from None
    record_event("email.changed", actor=user, target_type="user", target_id=user.id)
    return user
