"""What the outbox stores: a message's facts, encrypted; the sender renders it at send time.

A row's payload is the recipient, the template, its context and the
attachments, as JSON encrypted with the configured keys. Rendering (Jinja
text and HTML, calendar files) waits for the sender: a booking writes its
confirmation and reminders in a fraction of a millisecond each instead of
rendering and encrypting kilobytes inside its transaction (B2, booking
service on SQLite: 5.7 → see README "Benchmarks"). The facts are those of
the moment of enqueueing, so a reminder still says what was booked even if
the practitioner renames a reason or moves their practice later.

An attachment is either bytes, or a `LaterFile`: the facts for a renderer
that a feature registered under a name (booking's `.ics` invitation), so
that this package calls feature code without importing it.
"""

import base64
import dataclasses
import datetime as dt
import json
from collections.abc import Callable

from webapp import crypto


@dataclasses.dataclass(frozen=True)
class LaterFile:
    """An attachment made at send time by the renderer registered as `renderer`, from `facts` (JSON data)."""

    renderer: str
    facts: dict


class DraftError(ValueError):
    """A stored message that cannot be rendered (unknown renderer, malformed facts): a permanent failure."""


_renderers: dict[str, Callable[[dict], bytes]] = {}


def register_renderer(name: str, render: Callable[[dict], bytes]) -> None:
    """Make `render(facts) -> bytes` available to the sender under `name` (at app creation; idempotent)."""
    _renderers[name] = render


def render_file(renderer: str, facts: dict) -> bytes:
    try:
        render = _renderers[renderer]
    except KeyError:
        raise DraftError(f"no renderer named {renderer!r} is registered") from None
    return render(facts)


# Datetimes, the only non-JSON values of the messages' contexts, travel tagged
# so that the templates get aware datetimes back (and the `local_datetime` filter works).
_DATETIME, _DATE = "$datetime", "$date"


def _encode(value):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("a message's datetimes are timezone-aware")
        return {_DATETIME: value.isoformat()}
    if isinstance(value, dt.date):
        return {_DATE: value.isoformat()}
    if isinstance(value, LaterFile):
        return {"renderer": value.renderer, "facts": value.facts}
    if isinstance(value, bytes):
        return {"data": base64.b64encode(value).decode()}
    raise TypeError(f"a message cannot carry a {type(value).__name__}")


def _decode(mapping: dict):
    if len(mapping) == 1:
        if _DATETIME in mapping:
            return dt.datetime.fromisoformat(mapping[_DATETIME])
        if _DATE in mapping:
            return dt.date.fromisoformat(mapping[_DATE])
    return mapping


def seal(draft: dict) -> bytes:
    """The stored form of a draft: JSON (datetimes, bytes and `LaterFile`s tagged), encrypted."""
    return crypto.encrypt(json.dumps(draft, default=_encode, separators=(",", ":")).encode())


def unseal(payload: bytes) -> dict:
    """The draft of a stored payload; raises `crypto.DecryptionError` when no configured key opens it."""
    return json.loads(crypto.decrypt(payload), object_hook=_decode)


def attachment_bytes(stored: dict) -> bytes:
    """The content of a stored attachment: its bytes, or what its renderer makes of its facts."""
    if "data" in stored:
        return base64.b64decode(stored["data"])
    return render_file(stored["renderer"], stored["facts"])
