"""Accounts: users, roles, login with two-factor, relatives, API tokens, verification of practitioners."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, template_folder="templates")

from webapp.accounts import (  # noqa: E402,F401  (registers the routes)
    email_change_views,
    email_confirmation_views,
    notification_settings_views,
    practice_contact_views,
    profile_views,
    verification_views,
    views,
)
from webapp.accounts.api_tokens import authenticate_api_token  # noqa: E402
from webapp.api.auth import register_token_authenticator  # noqa: E402

# The API layer authenticates bearer tokens with the function accounts gives it.
bp.record_once(lambda state: register_token_authenticator(state.app, authenticate_api_token))
