"""A real OpenID Connect provider for the tests, standing in for Pro Santé
Connect: a small Flask app served on a free loopback port.

It does what Carnet relies on, as Pro Santé Connect does: the discovery
document under `.well-known/wellknown-configuration`, the authorization code
flow with PKCE (S256), the client authenticated by `client_secret_basic` at
the token endpoint, codes used once, RS256 ID tokens (iss, sub, aud, exp,
iat, nonce, acr, `SubjectNameID`) signed with a key published at the JWKS
endpoint, and a userinfo with the professional claims (`SubjectRefPro`).
The authorization endpoint approves at once (no e-CPS to show).

A test changes its behaviour through `reset()`'s fields: who logs in
(`person`), a rogue signing key, claims to overwrite in the ID token or the
userinfo, a refusal (`access_denied`), a userinfo sent as a signed JWT.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from werkzeug.serving import WSGIRequestHandler, make_server

CLIENT_ID = "carnet-test"
CLIENT_SECRET = "carnet-test-secret"  # nosec B105  (a test provider's client)
REDIRECT_URI = "http://carnet.test/login/psc/callback"
REALM_PATH = "/auth/realms/esante-wallet"
KEY_ID = "psc-test-key"


@dataclass
class Person:
    """Who logs in at the provider: the national id ("8" + RPPS) and names."""

    subject_name_id: str | None
    given_name: str = "Claire"
    family_name: str = "Martin"
    profession_code: str = "10"

    @property
    def sub(self) -> str:
        return f"f:{hashlib.sha256(str(self.subject_name_id).encode()).hexdigest()[:16]}"


@dataclass
class Behaviour:
    person: Person = field(default_factory=lambda: Person("899700218896"))
    sign_with_rogue_key: bool = False
    id_token_claims: dict = field(default_factory=dict)  # overwrite (None removes) claims of the ID token
    userinfo_claims: dict = field(default_factory=dict)  # the same for the userinfo
    deny: bool = False
    userinfo_as_jwt: bool = False
    token_error: str | None = None  # the token endpoint refuses the code with this OAuth error
    id_token_alg: str = "RS256"  # "HS256": keyed with the client secret; "none": unsigned


class OidcProvider:
    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig", "alg": "RS256"})
        # Same key id, another key: the signature cannot verify.
        self.rogue_key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig", "alg": "RS256"})
        self.url = ""
        self.reset()

    @property
    def issuer(self) -> str:
        return self.url + REALM_PATH

    def reset(self) -> Behaviour:
        self.behaviour = Behaviour()
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.authorization_requests: list[dict] = []
        self.token_requests = 0
        return self.behaviour

    def _signed(self, claims: dict) -> str:
        key = self.rogue_key if self.behaviour.sign_with_rogue_key else self.key
        return jwt.encode({"alg": "RS256", "kid": KEY_ID, "typ": "JWT"}, claims, key)

    def _id_token_signed(self, claims: dict) -> str:
        alg = self.behaviour.id_token_alg
        if alg == "HS256":  # the old trick: a MAC keyed with the client's own secret
            return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, OctKey.import_key(CLIENT_SECRET))
        if alg == "none":
            def part(data: dict) -> str:
                return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
            return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
        return self._signed(claims)

    @staticmethod
    def _overwritten(claims: dict, changes: dict) -> dict:
        claims = claims | changes
        return {name: value for name, value in claims.items() if value is not None}

    def _userinfo(self, grant: dict) -> dict:
        person = grant["person"]
        claims = {
            "sub": person.sub, "SubjectNameID": person.subject_name_id, "preferred_username": person.subject_name_id,
            "given_name": person.given_name, "family_name": person.family_name,
            "SubjectRefPro": {"exercices": [{
                "codeProfession": person.profession_code, "codeCategorieProfessionnelle": "C",
                "prenomDexercice": person.given_name, "nomDexercice": person.family_name, "activities": [],
            }]},
        }
        return self._overwritten(claims, self.behaviour.userinfo_claims)

    def _id_token(self, grant: dict) -> str:
        now = int(time.time())
        person = grant["person"]
        claims = {
            "iss": self.issuer, "sub": person.sub, "aud": CLIENT_ID, "exp": now + 300, "iat": now, "auth_time": now,
            "nonce": grant["nonce"], "acr": grant["acr"], "SubjectNameID": person.subject_name_id,
            "given_name": person.given_name, "family_name": person.family_name,
        }
        return self._id_token_signed(self._overwritten(claims, self.behaviour.id_token_claims))

    def wsgi_app(self) -> Flask:
        app = Flask("oidc-provider")
        provider = self

        @app.get(REALM_PATH + "/.well-known/wellknown-configuration")
        @app.get(REALM_PATH + "/.well-known/openid-configuration")
        def discovery():
            base = provider.issuer + "/protocol/openid-connect"
            return jsonify({
                "issuer": provider.issuer, "authorization_endpoint": f"{base}/auth", "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo", "jwks_uri": f"{base}/certs",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "userinfo_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"], "scopes_supported": ["openid", "scope_all"],
                "acr_values_supported": ["eidas1"], "claims_supported": ["sub", "SubjectNameID", "SubjectRefPro"],
            })

        @app.get(REALM_PATH + "/protocol/openid-connect/certs")
        def certs():
            return jsonify({"keys": [provider.key.as_dict(private=False)]})

        @app.get(REALM_PATH + "/protocol/openid-connect/auth")
        def authorize():
            args = request.args.to_dict()
            provider.authorization_requests.append(args)
            if args.get("client_id") != CLIENT_ID or args.get("redirect_uri") != REDIRECT_URI:
                return "unknown client or redirect URI", 400
            if args.get("response_type") != "code" or "openid" not in args.get("scope", "").split():
                return "not an OpenID Connect code request", 400
            if provider.behaviour.deny:
                return redirect(f"{REDIRECT_URI}?error=access_denied&state={args.get('state', '')}")
            code = secrets.token_urlsafe(16)
            provider.codes[code] = {
                "nonce": args.get("nonce"), "acr": args.get("acr_values", ""), "person": provider.behaviour.person,
                "code_challenge": args.get("code_challenge"), "redirect_uri": args["redirect_uri"],
            }
            return redirect(f"{REDIRECT_URI}?code={code}&state={args.get('state', '')}")

        @app.post(REALM_PATH + "/protocol/openid-connect/token")
        def token():
            provider.token_requests += 1
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("Authorization") != expected:
                return jsonify({"error": "invalid_client"}), 401
            form = request.form
            grant = provider.codes.pop(form.get("code", ""), None)  # a code works once
            if form.get("grant_type") != "authorization_code" or grant is None \
                    or form.get("redirect_uri") != grant["redirect_uri"]:
                return jsonify({"error": "invalid_grant"}), 400
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge != grant["code_challenge"]:
                return jsonify({"error": "invalid_grant", "error_description": "PKCE"}), 400
            if provider.behaviour.token_error:
                return jsonify({"error": provider.behaviour.token_error}), 400
            access_token = secrets.token_urlsafe(24)
            provider.access_tokens[access_token] = grant
            return jsonify({"access_token": access_token, "token_type": "Bearer", "expires_in": 120,
                            "id_token": provider._id_token(grant), "scope": "openid scope_all"})

        @app.get(REALM_PATH + "/protocol/openid-connect/userinfo")
        def userinfo():
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            grant = provider.access_tokens.get(value) if scheme == "Bearer" else None
            if grant is None:
                return jsonify({"error": "invalid_token"}), 401
            claims = provider._userinfo(grant)
            if provider.behaviour.userinfo_as_jwt:
                signed = provider._signed(claims | {"iss": provider.issuer, "aud": CLIENT_ID})
                return signed, 200, {"Content-Type": "application/jwt"}
            return jsonify(claims)

        return app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def start_provider() -> tuple[OidcProvider, callable]:
    """Serve a provider on a free loopback port; returns it and its stop function."""
    provider = OidcProvider()
    server = make_server("127.0.0.1", 0, provider.wsgi_app(), threaded=True, request_handler=_QuietHandler)
    provider.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="oidc-provider", daemon=True)
    thread.start()

    def stop():
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()

    return provider, stop
