"""What the outbox stores: a message's facts, encrypted; the sender renders it at send time.

A row's payload is the recipient, the template, its context and the
attachments, as JSON encrypted with the configured keys. Rendering (Jinja
text and HTML, calendar files) waits for the sender, so a booking no longer
renders and encrypts kilobytes inside its transaction (booking service on
SQLite, CPU time on the busy 2-core machine, 2026-12-05: 6.1–8.3 ms before,
4.3–4.9 ms after; 17,600 → 7,100 Python calls per booking; README
"Benchmarks" for B2). The facts are those of
the moment of enqueueing, so a reminder still says what was booked even if
the practitioner renames a reason or moves their practice later.

A context value or an attachment may be a `Later`: facts for a renderer
that a feature registered under a name (booking's `.ics` invitation, an
appointment's title), called by the sender in the recipient's language, so
that this package runs feature code without importing it and the request
pays for no translation (a `force_locale` per message cost a booking
0.3 ms, cProfile).
"""

import base64
import dataclasses
import datetime as dt
import json
from collections.abc import Callable

from webapp import crypto


@dataclasses.dataclass(frozen=True)
class Later:
    """A text or an attachment made at send time by the renderer registered as `renderer`, from
    `facts` (JSON data and aware datetimes); called in the recipient's locale."""

    renderer: str
    facts: dict


class DraftError(ValueError):
    """A stored message that cannot be rendered (unknown renderer, malformed facts): a permanent failure."""


_renderers: dict[str, Callable[[dict], bytes | str]] = {}


def register_renderer(name: str, render: Callable[[dict], bytes | str]) -> None:
    """Make `render(facts)` (bytes for a file, text for a context value) available to the
    sender under `name` (at app creation; registering again replaces it)."""
    _renderers[name] = render


def render_later(value: Later) -> bytes | str:
    try:
        render = _renderers[value.renderer]
    except KeyError:
        raise DraftError(f"no renderer named {value.renderer!r} is registered") from None
    return render(value.facts)


# Datetimes (the only non-JSON values of the messages' contexts), bytes and
# `Later`s travel tagged, so that the sender gets them back as they were
# (aware datetimes for the `local_datetime` filter).
_DATETIME, _DATE, _BYTES, _LATER = "$datetime", "$date", "$bytes", "$later"


def _encode(value):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("a message's datetimes are timezone-aware")
        return {_DATETIME: value.isoformat()}
    if isinstance(value, dt.date):
        return {_DATE: value.isoformat()}
    if isinstance(value, Later):
        return {_LATER: value.renderer, "facts": value.facts}
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode()}
    raise TypeError(f"a message cannot carry a {type(value).__name__}")


def _decode(mapping: dict):
    if _DATETIME in mapping:
        return dt.datetime.fromisoformat(mapping[_DATETIME])
    if _DATE in mapping:
        return dt.date.fromisoformat(mapping[_DATE])
    if _BYTES in mapping:
        return base64.b64decode(mapping[_BYTES])
    if _LATER in mapping:
        return Later(mapping[_LATER], mapping["facts"])
    return mapping


def seal(draft: dict) -> bytes:
    """The stored form of a draft: JSON (datetimes, bytes and `Later`s tagged), encrypted."""
    return crypto.encrypt(json.dumps(draft, default=_encode, separators=(",", ":")).encode())


def unseal(payload: bytes) -> dict:
    """The draft of a stored payload; raises `crypto.DecryptionError` when no configured key opens it."""
    return json.loads(crypto.decrypt(payload), object_hook=_decode)


def resolved(value):
    """A stored value as the message shows it: a `Later` rendered now, anything else as is."""
    return render_later(value) if isinstance(value, Later) else value
