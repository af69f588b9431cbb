"""TOTP two-factor authentication: secrets, provisioning QR codes, and the
one check of a code (`accept_code`), which lets each code open one action."""

import io
import re

import pyotp
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from webapp.accounts.models import User
from webapp.db import now_utc
from webapp.extensions import db

SECRET_PATTERN = re.compile(r"^[A-Z2-7]{32}$")
CODE_PATTERN = re.compile(r"^[0-9]{6}$")
STEP_SECONDS = 30  # the authenticator apps' period (RFC 6238's default)
VALID_WINDOW = 1  # one step either side: phone clocks drift and people type slowly


def new_totp_secret() -> str:
    return pyotp.random_base32()


def is_well_formed_secret(secret: str | None) -> bool:
    """A secret as `new_totp_secret` makes them: 32 base32 characters (160 bits)."""
    return bool(secret and SECRET_PATTERN.match(secret))


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=email, issuer_name=current_app.config["CARNET_TOTP_ISSUER"]
    )


def qr_code_svg(uri: str) -> str:
    """The QR code of a provisioning URI as inline SVG, rendered locally."""
    import qrcode.image.svg  # only on the setup page, not in every worker (tests/test_worker_memory.py)

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def matching_step(secret: str | None, code: str | None, at: float) -> int | None:
    """The time step, within the window around `at`, whose code is `code`; None if none is."""
    if not secret or not code:
        return None
    code = code.strip().replace(" ", "")
    if not CODE_PATTERN.match(code):
        return None
    otp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = otp.timecode(at)
    for step in range(current + VALID_WINDOW, current - VALID_WINDOW - 1, -1):
        if pyotp.utils.strings_equal(code, otp.generate_otp(step)):
            return step
    return None


def accept_code(user, code: str | None, *, secret: str | None = None, now=None) -> bool:
    """Whether `code` opens an action of `user`: it is the code of the
    account's secret (or of `secret`, a new one being set up) for the current
    time step or the one either side, and of a later step than any code the
    account used before. An accepted step is recorded, so a code (or an older
    one) never opens a second login or sensitive action, even one sent twice
    at the same moment: the conditional UPDATE holds the account's row until
    the transaction ends, and the second request then finds the step taken.

    The time is the app's one clock (`now_utc()`), so a test that freezes or
    moves it gets the codes of that moment; `now` (an aware datetime)
    replaces it for one check. A refusal writes nothing;
    the caller counts failures. Like every service, this never commits.
    """
    new_secret = secret is not None and secret != user.totp_secret
    at = (now or now_utc()).timestamp()
    step = matching_step(secret or user.totp_secret, code, at)
    if step is None:
        return False
    statement = sa.update(User).where(User.id == user.id).values(totp_last_step=step)
    if not new_secret:  # a new secret has no used codes yet
        statement = statement.where(sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
    recorded = db.session.execute(statement.execution_options(synchronize_session=False)).rowcount
    if recorded != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True
