"""URL helpers shared by the pages, and the id converter of every route."""

import re
from urllib.parse import urlsplit

from flask import current_app, url_for
from werkzeug.routing import IntegerConverter

# Browsers drop tabs and newlines inside URLs and read "\" as "/", so
# "/\t/evil.example" or "/\\evil.example" would leave the site.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")
# The largest value of a signed 64-bit column (PostgreSQL BIGINT, SQLite INTEGER).
DATABASE_ID_MAX = 2**63 - 1


def safe_next_url(target: str | None, fallback: str) -> str:
    """Only a path on this site is an acceptable redirect target (no open redirect)."""
    if not target or _UNSAFE_CHARACTERS.search(target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def external_url(endpoint: str, **values) -> str:
    """An absolute link on the public address (`CARNET_BASE_URL`), for mail and feeds."""
    return current_app.config["CARNET_BASE_URL"].rstrip("/") + url_for(endpoint, _external=False, **values)


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in routes: ids beyond a database integer match no route (404), never a database error."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", DATABASE_ID_MAX)
        super().__init__(map, *args, **kwargs)
