"""Where bundles go: an MHD Document Recipient over HTTPS, or a folder of JSON files.

Only ids and status codes are logged, never a bundle or an answer's content.
"""

import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

FHIR_JSON = "application/fhir+json"
RETRYABLE_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
# A fetched OAuth2 token is reused until this long before it expires.
TOKEN_MARGIN_SECONDS = 30


@dataclass(frozen=True)
class Delivery:
    """The result of one attempt: delivered, worth retrying, or refused for good."""

    delivered: bool
    retryable: bool = False
    error: str | None = None
    outcome: str | None = None  # the recipient's OperationOutcome, as received
    retry_after_seconds: int | None = None
    already_stored: bool = False  # the recipient answered that it holds this document already


def _timeout(config: Mapping) -> float:
    return float(config["CARNET_DMP_TIMEOUT_SECONDS"])


class _TokenCache:
    """OAuth2 client-credentials tokens of this process, by token URL and client id."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}

    def token(self, config: Mapping) -> str:
        key = (config["CARNET_DMP_TOKEN_URL"], config["CARNET_DMP_CLIENT_ID"])
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > time.monotonic():
                return cached[0]
        form = {"grant_type": "client_credentials"}
        if config.get("CARNET_DMP_SCOPE"):
            form["scope"] = config["CARNET_DMP_SCOPE"]
        with requests.Session() as http:
            response = http.post(key[0], data=form, auth=(key[1], config["CARNET_DMP_CLIENT_SECRET"]),
                                 timeout=_timeout(config))
        response.raise_for_status()
        body = response.json()
        lifetime = max(0, int(body.get("expires_in", 300)) - TOKEN_MARGIN_SECONDS)
        with self._lock:
            self._tokens[key] = (body["access_token"], time.monotonic() + lifetime)
        return body["access_token"]

    def forget(self, config: Mapping) -> None:
        with self._lock:
            self._tokens.pop((config["CARNET_DMP_TOKEN_URL"], config["CARNET_DMP_CLIENT_ID"]), None)


tokens = _TokenCache()


def _authorization(config: Mapping) -> dict:
    mode = config.get("CARNET_DMP_AUTH", "none")
    if mode == "bearer":
        return {"Authorization": f"Bearer {config['CARNET_DMP_BEARER_TOKEN']}"}
    if mode == "oauth2":
        return {"Authorization": f"Bearer {tokens.token(config)}"}
    return {}


def _retry_after(response: requests.Response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


def _is_duplicate(response: requests.Response) -> bool:
    """The recipient refuses the document because it already holds its unique id (an
    OperationOutcome issue `duplicate`, or XDS's XDSDuplicateUniqueIdInRegistry): an
    earlier attempt, whose answer was lost (a timeout), did store it. The unique id
    derives from the document alone, so no one else sends it."""
    if response.status_code not in (400, 409, 412, 422):
        return False
    try:
        issues = response.json().get("issue", [])
    except (ValueError, AttributeError):
        return False
    for issue in issues if isinstance(issues, list) else []:
        codes = {coding.get("code") for coding in (issue.get("details") or {}).get("coding", [])}
        if issue.get("code") == "duplicate" or "XDSDuplicateUniqueIdInRegistry" in codes:
            return True
    return False


def _post(bundle: dict, config: Mapping) -> Delivery:
    try:
        headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON, **_authorization(config)}
        with requests.Session() as http:
            response = http.post(config["CARNET_DMP_ENDPOINT"], data=json.dumps(bundle), headers=headers,
                                 timeout=_timeout(config), allow_redirects=False)
    except (requests.RequestException, ValueError, KeyError) as error:
        return Delivery(False, retryable=True, error=f"network: {type(error).__name__}")
    if 200 <= response.status_code < 300:
        return Delivery(True)
    if _is_duplicate(response):
        return Delivery(True, already_stored=True)
    error = f"HTTP {response.status_code}"
    if response.status_code == 401 and config.get("CARNET_DMP_AUTH") == "oauth2":
        tokens.forget(config)  # an expired or revoked token: the next attempt fetches a new one
        return Delivery(False, retryable=True, error=error)
    if response.status_code in RETRYABLE_STATUSES:
        return Delivery(False, retryable=True, error=error, retry_after_seconds=_retry_after(response))
    return Delivery(False, error=error, outcome=response.text[:100_000] or None)


def _write(bundle: dict, document_id: str, folder: str) -> Delivery:
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
        name = document_id.removeprefix("urn:uuid:")
        temporary = target / f".{name}.json.tmp"
        temporary.write_text(json.dumps(bundle, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, target / f"{name}.json")  # the same id overwrites: one file per document
    except OSError as error:
        return Delivery(False, retryable=True, error=f"folder: {type(error).__name__}")
    return Delivery(True)


def deliver(bundle: dict, document_id: str, config: Mapping) -> Delivery:
    """Send one bundle to the configured target."""
    if config.get("CARNET_DMP_ENDPOINT"):
        return _post(bundle, config)
    return _write(bundle, document_id, config["CARNET_DMP_FOLDER"])
