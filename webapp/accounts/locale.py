"""The account's language, as chosen with the language switch of every page."""

from webapp.accounts.models import User


def set_account_locale(user: User, code: str) -> None:
    """Pages and mail follow the account's language from now on (the caller
    commits; the switch only offers the app's languages)."""
    if user.locale != code:
        user.locale = code
