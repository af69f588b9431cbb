"""TOTP two-factor authentication: secrets, provisioning QR codes, checks."""

import io
import re

import pyotp
import qrcode
import qrcode.image.svg
from flask import current_app


SECRET_PATTERN = re.compile(r"^[A-Z2-7]{32}$")


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
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def is_valid_totp(secret: str | None, code: str | None) -> bool:
    if not secret or not code:
        return False
    code = code.strip().replace(" ", "")
    return code.isdigit() and pyotp.TOTP(secret).verify(code, valid_window=1)
