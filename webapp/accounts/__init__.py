"""Accounts: users, roles, login with two-factor, relatives, API tokens, verification of practitioners."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, template_folder="templates")

from webapp.accounts import email_confirmation_views, practice_contact_views, profile_views, views, verification_views  # noqa: E402,F401  (registers the routes)
