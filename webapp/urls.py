"""URL helpers shared by the pages."""

import re
from urllib.parse import urlsplit

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
