"""The OpenID Connect side of Pro Santé Connect, through Authlib.

The login sends the browser to the provider with a fresh `state`, `nonce`
and PKCE verifier (kept in the session by Authlib) and `acr_values`. The
callback exchanges the code for tokens with a direct HTTP call, then checks
the ID token: its signature against the provider's published keys (JWKS),
issuer, audience (our client id), expiry, the nonce of this login and the
authentication level (`acr`). The userinfo adds the professional claims; it
must describe the same subject. What comes out is a `ProviderIdentity`,
whose RPPS is read from `SubjectNameID` ("8" followed by the 11 digits of
the RPPS number).
"""

import dataclasses
import logging
import re
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, request
from joserfc import jwt
from joserfc.errors import BadSignatureError, ClaimError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from config import ConfigurationError
from webapp.accounts.pro_sante_connect.errors import (
    LoginCancelled,
    LoginExpired,
    NoValidRpps,
    ProSanteConnectError,
    ProviderUnavailable,
)
from webapp.accounts.registration import rpps_problem
from webapp.urls import external_url

log = logging.getLogger(__name__)

CLIENT_NAME = "pro_sante_connect"
REQUIRED_SETTINGS = ("CARNET_PSC_ISSUER", "CARNET_PSC_CLIENT_ID", "CARNET_PSC_CLIENT_SECRET")
# Pro Santé Connect publishes its discovery document under this name,
# beside the issuer (not the usual `openid-configuration`).
DISCOVERY_PATH = "/.well-known/wellknown-configuration"
# The national identifier of a professional: "8" marks an RPPS number.
SUBJECT_NAME_ID = re.compile(r"8(\d{11})")
# Clock difference tolerated on the token times (exp, iat).
LEEWAY_SECONDS = 60
# Pro Santé Connect profession codes (SubjectRefPro.exercices[].codeProfession)
# whose Carnet specialty is certain; other codes leave the choice to the person.
SPECIALTY_BY_PROFESSION = {
    "21": "pharmacist",
    "40": "dentist",
    "50": "midwife",
    "60": "nurse",
    "70": "physiotherapist",
    "80": "podiatrist",
    "91": "speech_therapist",
    "92": "orthoptist",
}


@dataclasses.dataclass(frozen=True)
class ProviderIdentity:
    """Who Pro Santé Connect says logged in: the RPPS number, names, and the
    Carnet specialty its profession implies (empty when unsure)."""

    rpps: str
    first_name: str
    last_name: str
    specialty: str = ""


def is_configured(config: Mapping) -> bool:
    return any(config.get(name) for name in REQUIRED_SETTINGS)


def discovery_url(config: Mapping) -> str:
    return config.get("CARNET_PSC_DISCOVERY_URL") or config["CARNET_PSC_ISSUER"].rstrip("/") + DISCOVERY_PATH


def check_settings(config: Mapping) -> None:
    """All three of issuer, client id and secret, https addresses (http only
    in tests), and the `openid` scope."""
    missing = [name for name in REQUIRED_SETTINGS if not config.get(name)]
    if missing:
        raise ConfigurationError(
            f"Pro Santé Connect needs {', '.join(missing)} too (or none of them, to leave it off).")
    for name, url in (("CARNET_PSC_ISSUER", config["CARNET_PSC_ISSUER"]),
                      ("CARNET_PSC_DISCOVERY_URL", discovery_url(config))):
        scheme = urlsplit(url).scheme
        if scheme != "https" and not (config.get("TESTING") and scheme == "http"):
            raise ConfigurationError(f"{name} must be an https:// URL.")
    if "openid" not in config.get("CARNET_PSC_SCOPES", "").split():
        raise ConfigurationError("CARNET_PSC_SCOPES must include openid.")


def register_client(app: Flask) -> None:
    """One Authlib registry per app, holding the Pro Santé Connect client (the
    provider's metadata and keys are fetched on first use, then cached)."""
    config = app.config
    oauth = OAuth(app)
    oauth.register(
        CLIENT_NAME,
        client_id=config["CARNET_PSC_CLIENT_ID"],
        client_secret=config["CARNET_PSC_CLIENT_SECRET"],
        server_metadata_url=discovery_url(config),
        client_kwargs={
            "scope": config["CARNET_PSC_SCOPES"],
            "code_challenge_method": "S256",
            "default_timeout": config["CARNET_PSC_TIMEOUT_SECONDS"],
        },
        authorize_params={"acr_values": config["CARNET_PSC_ACR"]} if config["CARNET_PSC_ACR"] else None,
    )


def _client():
    return current_app.extensions["authlib.integrations.flask_client"].create_client(CLIENT_NAME)


def _issuer() -> str:
    return current_app.config["CARNET_PSC_ISSUER"].rstrip("/")


def _metadata(client) -> dict:
    """The provider's discovery document; it must name the configured issuer."""
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError) as error:
        log.warning("Pro Santé Connect discovery failed: %s", type(error).__name__)
        raise ProviderUnavailable("psc_unavailable") from None
    if str(metadata.get("issuer", "")).rstrip("/") != _issuer():
        client.server_metadata.clear()  # fetched again next time, once the configuration is fixed
        log.error("Pro Santé Connect discovery names issuer %r, not CARNET_PSC_ISSUER", metadata.get("issuer"))
        raise ProviderUnavailable("psc_issuer_mismatch")
    return metadata


def authorization_redirect():
    """The redirect that starts a login at Pro Santé Connect."""
    client = _client()
    _metadata(client)
    return client.authorize_redirect(external_url("pro_sante_connect.callback"), nonce=secrets.token_urlsafe(32))


def _id_token_options() -> dict:
    """What the ID token must say beyond its signature and nonce (built anew
    each time: Authlib consumes these dicts)."""
    config = current_app.config
    options = {
        "iss": {"essential": True, "value": _issuer()},
        # Authlib alone accepts a foreign audience when `azp` names us.
        "aud": {"essential": True, "value": config["CARNET_PSC_CLIENT_ID"]},
    }
    if config["CARNET_PSC_ACR"]:
        options["acr"] = {"essential": True, "value": config["CARNET_PSC_ACR"]}
    return options


def _exchange_code(client) -> dict:
    """Authlib checks the state, exchanges the code and validates the ID
    token; each failure becomes a refusal with its audit reason."""
    error = request.args.get("error")
    if error == "access_denied":
        raise LoginCancelled()
    if error:
        raise ProSanteConnectError("psc_provider_error")
    if not request.args.get("code"):
        raise LoginExpired("psc_state")
    try:
        token = client.authorize_access_token(claims_options=_id_token_options(), leeway=LEEWAY_SECONDS)
    except MismatchingStateError:
        raise LoginExpired("psc_state") from None
    except OAuthError as error:  # the token endpoint refused the code or the client
        log.warning("Pro Santé Connect token request refused: %s", error.error)
        raise ProSanteConnectError("psc_token") from None
    except (BadSignatureError, InvalidKeyIdError):
        raise ProSanteConnectError("psc_signature") from None
    except ClaimError as error:
        raise ProSanteConnectError("psc_nonce" if error.claim == "nonce" else "psc_claims") from None
    except (JoseError, ValueError) as error:  # not a well-formed token response or signed token
        log.warning("Pro Santé Connect token unreadable: %s", type(error).__name__)
        raise ProSanteConnectError("psc_token") from None
    except requests.RequestException as error:
        log.warning("Pro Santé Connect unreachable: %s", type(error).__name__)
        raise ProviderUnavailable("psc_unavailable") from None
    if not isinstance(token.get("userinfo"), Mapping):  # no ID token: nothing signed says who this is
        raise ProSanteConnectError("psc_token")
    return token


def _userinfo(client, token: dict, metadata: dict) -> dict:
    """The userinfo, as JSON or as a JWT signed with the provider's keys."""
    endpoint = metadata.get("userinfo_endpoint")
    if not endpoint:
        return {}
    try:
        response = client.get(endpoint, token=token)
        response.raise_for_status()
        if response.headers.get("Content-Type", "").split(";")[0].strip() == "application/jwt":
            keys = KeySet.import_key_set(client.fetch_jwk_set())
            algorithms = metadata.get("userinfo_signing_alg_values_supported") or ["RS256"]
            claims = jwt.decode(response.text.strip(), keys, registry=JWSRegistry(algorithms=algorithms)).claims
        else:
            claims = response.json()
    except (BadSignatureError, InvalidKeyIdError):
        raise ProSanteConnectError("psc_signature") from None
    except (JoseError, ValueError):
        raise ProSanteConnectError("psc_userinfo") from None
    except requests.RequestException as error:
        log.warning("Pro Santé Connect userinfo failed: %s", type(error).__name__)
        raise ProviderUnavailable("psc_unavailable") from None
    if not isinstance(claims, dict):
        raise ProSanteConnectError("psc_userinfo")
    return claims


def rpps_from_subject_name_id(value) -> str:
    """The RPPS number in a `SubjectNameID`: "8" then 11 digits with a valid
    check digit. Anything else (an ADELI number, a test identity) is refused."""
    match = SUBJECT_NAME_ID.fullmatch(value) if isinstance(value, str) else None
    if match is None or rpps_problem(match.group(1)):
        raise NoValidRpps("psc_invalid_rpps")
    return match.group(1)


def _first_exercise(userinfo: dict) -> dict:
    ref = userinfo.get("SubjectRefPro")
    exercises = ref.get("exercices") if isinstance(ref, dict) else None
    first = exercises[0] if isinstance(exercises, list) and exercises else None
    return first if isinstance(first, dict) else {}


def _text(*values) -> str:
    return next((value.strip() for value in values if isinstance(value, str) and value.strip()), "")


def identity_from_claims(id_claims: Mapping, userinfo: Mapping) -> ProviderIdentity:
    """Read the identity. The userinfo (when the provider has one) must be
    about the ID token's subject, and where both carry a `SubjectNameID` they
    must agree."""
    if userinfo and userinfo.get("sub") != id_claims.get("sub"):
        raise ProSanteConnectError("psc_userinfo")
    names_ids = {value for value in (id_claims.get("SubjectNameID"), userinfo.get("SubjectNameID")) if value}
    if len(names_ids) != 1:
        raise NoValidRpps("psc_invalid_rpps")
    rpps = rpps_from_subject_name_id(names_ids.pop())
    exercise = _first_exercise(dict(userinfo))
    first_name = _text(userinfo.get("given_name"), id_claims.get("given_name"), exercise.get("prenomDexercice"))
    last_name = _text(userinfo.get("family_name"), id_claims.get("family_name"), exercise.get("nomDexercice"))
    if not first_name or not last_name:
        raise ProSanteConnectError("psc_userinfo")
    return ProviderIdentity(rpps=rpps, first_name=first_name[:100], last_name=last_name[:100],
                            specialty=SPECIALTY_BY_PROFESSION.get(str(exercise.get("codeProfession", "")), ""))


def identity_from_callback() -> ProviderIdentity:
    """Finish the login at the callback: the checked identity, or a
    `ProSanteConnectError` (or `LoginCancelled`)."""
    client = _client()
    metadata = _metadata(client)
    token = _exchange_code(client)
    return identity_from_claims(token["userinfo"], _userinfo(client, token, metadata))
