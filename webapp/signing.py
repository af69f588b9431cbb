"""Signed, timestamped tokens for links sent by mail (password reset, email confirmation, invitations)."""

from flask import current_app
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from webapp.db import now_utc


class _ClockSigner(TimestampSigner):
    """Stamps and ages tokens with the app's clock rather than the system's."""

    def get_timestamp(self) -> int:
        return int(now_utc().timestamp())


def link_serializer(purpose: str) -> URLSafeTimedSerializer:
    """The serializer of one kind of link: its purpose is the salt, so a token
    made for one purpose is refused for any other."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose, signer=_ClockSigner)
