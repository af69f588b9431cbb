"""The language of each request, and the language kept across a login.

Signed in, the account's language (`User.locale`) decides; a visitor's
comes from the language switch (kept in the session), else from the
browser, else French. A language a visitor picked before logging in is kept
at login: it becomes the account's, so pages and mail follow it.
"""

from flask import current_app, has_request_context, request, session
from flask_login import current_user

LOCALE_KEY = "locale"


def select_locale() -> str:
    if not has_request_context():  # jobs and CLI commands: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    locales = current_app.config["CARNET_LOCALES"]
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in locales:
        return current_user.locale
    if session.get(LOCALE_KEY) in locales:
        return session[LOCALE_KEY]
    return request.accept_languages.best_match(locales) or locales[0]


def keep_chosen_locale(user) -> str | None:
    """At login, before the session is renewed: the language picked in this
    browser wins over the account's and is stored on it (the caller commits);
    without such a choice, the account's. Returns the language to keep in the new session."""
    chosen = session.get(LOCALE_KEY)
    if chosen in current_app.config["CARNET_LOCALES"]:
        if user.locale != chosen:
            user.locale = chosen
        return chosen
    return user.locale
