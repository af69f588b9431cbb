"""A pluggable client of the INSi teleservice's "vérification" operation.

Carnet does not speak INSi's SOAP itself. It calls an *INSi adapter* at
`CARNET_INSI_ENDPOINT` (off when unset) with the small JSON contract below;
in production that adapter must be a gateway that speaks the ANS INSi SOAP
messages (operation "vérifier l'INS", with the CPS card or the structure's
software certificate authentication and the INSi homologation), translating
both ways. In the tests, `tests/dmp/insi_service.py` is a stand-in adapter.

Request: `POST {CARNET_INSI_ENDPOINT}/verification`, JSON
    {"operation": "verification", "ins": "<15 characters>",
     "traits": {"last_name": "...", "first_names": "...", "birth_date": "YYYY-MM-DD", "sex": "M"|"F"|null}}
Answer 200, JSON
    {"result": "confirmed" | "not_confirmed",
     "ins": "<the INS the teleservice knows>",
     "traits": {"last_name": "...", "first_names": "...", "birth_date": "YYYY-MM-DD", "sex": "M"|"F"}}
Any other status, a timeout or a malformed answer is `InsiError`: the
identity's status does not change. Only ids and status codes are logged.
"""

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

import requests

log = logging.getLogger(__name__)

SEX_CODES = {"male": "M", "female": "F"}


class InsiError(Exception):
    """The adapter could not be reached, or answered something outside the contract."""


@dataclass(frozen=True)
class Traits:
    """The identity traits sent to, and returned by, the teleservice."""

    last_name: str
    first_names: str
    birth_date: dt.date
    sex: str | None  # "M", "F", or None when the profile records neither

    def as_json(self) -> dict:
        return {"last_name": self.last_name, "first_names": self.first_names,
                "birth_date": self.birth_date.isoformat(), "sex": self.sex}


@dataclass(frozen=True)
class InsiAnswer:
    confirmed: bool
    ins: str | None = None
    traits: Traits | None = None

    def agrees_with(self, ins: str, traits: Traits) -> bool:
        """A positive answer for this INS whose birth date (and sex, when the
        profile gives one) are those of the profile."""
        return (self.confirmed and self.ins == ins and self.traits is not None
                and self.traits.birth_date == traits.birth_date
                and (traits.sex is None or self.traits.sex == traits.sex))


def insi_enabled(config: Mapping) -> bool:
    return bool(config.get("CARNET_INSI_ENDPOINT"))


def _answer(body) -> InsiAnswer:
    if not isinstance(body, dict) or body.get("result") not in ("confirmed", "not_confirmed"):
        raise InsiError("answer outside the contract")
    if body["result"] == "not_confirmed":
        return InsiAnswer(confirmed=False)
    traits = body.get("traits")
    try:
        returned = Traits(last_name=str(traits["last_name"]), first_names=str(traits["first_names"]),
                          birth_date=dt.date.fromisoformat(traits["birth_date"]), sex=traits.get("sex"))
        ins = str(body["ins"])
    except (KeyError, TypeError, ValueError):
        raise InsiError("answer outside the contract") from None
    return InsiAnswer(confirmed=True, ins=ins, traits=returned)


def verify_identity(nir: str, traits: Traits, *, config: Mapping) -> InsiAnswer:
    """Ask the teleservice whether `nir` is the INS of the person with these traits."""
    if not insi_enabled(config):
        raise InsiError("INSi is not configured")
    headers = {"Accept": "application/json"}
    if config.get("CARNET_INSI_BEARER_TOKEN"):
        headers["Authorization"] = f"Bearer {config['CARNET_INSI_BEARER_TOKEN']}"
    url = config["CARNET_INSI_ENDPOINT"].rstrip("/") + "/verification"
    timeout = float(config.get("CARNET_INSI_TIMEOUT_SECONDS", 15))
    body = {"operation": "verification", "ins": nir, "traits": traits.as_json()}
    try:
        response = requests.post(url, json=body, headers=headers, timeout=timeout)
    except requests.RequestException as error:
        log.warning("INSi verification failed: %s", type(error).__name__)
        raise InsiError(type(error).__name__) from None
    if response.status_code != 200:
        log.warning("INSi verification answered HTTP %s", response.status_code)
        raise InsiError(f"HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise InsiError("answer is not JSON") from None
    return _answer(body)
