"""URL helpers shared by the pages."""

from urllib.parse import urlsplit


def safe_next_url(target: str | None, fallback: str) -> str:
    """Only a path on this site is an acceptable redirect target (no open redirect)."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return fallback
    return target
