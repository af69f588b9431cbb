"""URL helpers shared by the pages, and the id converter of every route."""

import re
from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for

# Browsers drop tabs and newlines inside URLs and read "\" as "/", so
# "/\t/evil.example" or "/\\evil.example" would leave the site.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")


def safe_next_url(target: str | None, fallback: str) -> str:
    """Only a path on this site is an acceptable redirect target (no open redirect)."""
    if not target or _UNSAFE_CHARACTERS.search(target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def external_url(endpoint: str, **values) -> str:
    """An absolute link on the public address (`CARNET_BASE_URL`), for mail and feeds.

    Works in requests and in jobs alike (no request there, and no `SERVER_NAME`)."""
    base = current_app.config["CARNET_BASE_URL"].rstrip("/")
    if has_request_context():
        return base + url_for(endpoint, _external=False, **values)
    return base + current_app.url_map.bind("localhost").build(endpoint, values)
