"""Signed, timestamped tokens for links sent by mail (password reset, email confirmation, invitations)."""

from flask import current_app
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

from webapp.db import now_utc


class _ClockSigner(TimestampSigner):
    """Stamps and ages tokens with the app's clock rather than the system's."""

    def get_timestamp(self) -> int:
        return int(now_utc().timestamp())


def link_serializer(purpose: str) -> URLSafeTimedSerializer:
    """The serializer of one kind of link: its purpose is the salt, so a token
    made for one purpose is refused for any other."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose, signer=_ClockSigner)


def read_link(purpose: str, token: str, *, max_age_seconds: int) -> dict | None:
    """What a link of `purpose` carries, or None when it is forged, made for
    another purpose, or older than `max_age_seconds` (the pages say the same
    for each: telling them apart would only help someone guessing)."""
    try:
        data = link_serializer(purpose).loads(token, max_age=max_age_seconds)
    except BadData:
        return None
    return data if isinstance(data, dict) else None
