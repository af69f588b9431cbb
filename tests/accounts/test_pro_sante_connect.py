"""The Pro Santé Connect login, end to end against a real OpenID Connect
provider on loopback (tests/accounts/oidc_provider.py): the browser's
redirects are followed with real HTTP calls to the provider, and the app
exchanges the code and fetches keys and userinfo over HTTP itself."""

import datetime as dt
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import sqlalchemy as sa

from config import ConfigurationError
from tests import factories
from tests.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, Person, start_provider
from tests.conftest import csrf_token_of
from webapp import create_app
from webapp.accounts.models import PractitionerProfile, Role, User, VerificationMethod
from webapp.accounts.pro_sante_connect import services as psc_services
from webapp.accounts.pro_sante_connect.client import rpps_from_subject_name_id
from webapp.accounts.pro_sante_connect.errors import NoValidRpps
from webapp.audit.models import AuditEvent
from webapp.extensions import db

RPPS = "99700218896"  # valid check digit
OTHER_RPPS = factories.valid_rpps(424242)


@pytest.fixture(scope="module")
def _provider_server():
    provider, stop = start_provider()
    yield provider
    stop()


def _psc_settings(app, issuer: str) -> dict:
    settings = {key: app.config[key] for key in ("TESTING", "SQLALCHEMY_DATABASE_URI", "SERVER_NAME",
                                                 "CARNET_BASE_URL")}
    return settings | {"CARNET_PSC_ISSUER": issuer, "CARNET_PSC_CLIENT_ID": CLIENT_ID,
                       "CARNET_PSC_CLIENT_SECRET": CLIENT_SECRET}


@pytest.fixture(scope="module")
def psc_app(app, _provider_server):
    """The app with Pro Santé Connect on (same database as `app`), pointed at the provider."""
    psc_app = create_app(_psc_settings(app, _provider_server.issuer))
    psc_app.test_client_class = app.test_client_class
    yield psc_app
    with psc_app.app_context():
        db.engine.dispose()


@pytest.fixture
def provider(_provider_server):
    _provider_server.reset()
    return _provider_server


@pytest.fixture
def psc_client(psc_app, provider):
    return psc_app.test_client()


@pytest.fixture
def verifications(monkeypatch):
    """The calls to `verify_practitioner` (which still runs)."""
    calls = []
    original = psc_services.verify_practitioner

    def spy(profile, *, method, by, note=""):
        calls.append({"profile_id": profile.id, "method": method, "by": by})
        return original(profile, method=method, by=by, note=note)

    monkeypatch.setattr(psc_services, "verify_practitioner", spy)
    return calls


def start_login(client):
    """Click the button, then let the provider approve: the URL it sends the browser back to."""
    start = client.get("/login/psc")
    assert start.status_code == 302, start.get_data(as_text=True)
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    assert (back.scheme, back.netloc, back.path) == ("http", "carnet.test", "/login/psc/callback")
    return f"{back.path}?{back.query}"


def psc_login(client):
    return client.get(start_login(client))


def post_form(client, url: str, data: dict):
    html = client.get(url).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_token_of(html)})


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def is_logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def linked_practitioner(**overrides) -> PractitionerProfile:
    return factories.make_practitioner(rpps=RPPS, pro_sante_connect_linked_at=dt.datetime.now(dt.UTC),
                                       **overrides)


def assert_refused(response, status: int, reason: str, client) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == status, html
    assert "Connexion Pro Santé Connect refusée" in html
    assert not is_logged_in(client)
    failures = events("login.failure")
    assert [event.details["reason"] for event in failures] == [reason]
    assert failures[0].details["method"] == "pro_sante_connect"
    assert events("login.success") == []


# --- off by default ---------------------------------------------------------------------------------------------

def test_off_when_unset_no_button_and_no_routes(client):
    assert "Pro Santé Connect" not in client.get("/login").get_data(as_text=True)
    for path in ("/login/psc", "/login/psc/callback?code=x&state=y", "/login/psc/link", "/login/psc/new"):
        assert client.get(path).status_code == 404


def test_partial_settings_refuse_to_start(app):
    settings = _psc_settings(app, "https://auth.example/auth/realms/esante-wallet")
    del settings["CARNET_PSC_CLIENT_SECRET"]
    with pytest.raises(ConfigurationError, match="CARNET_PSC_CLIENT_SECRET"):
        create_app(settings)
    with pytest.raises(ConfigurationError, match="https"):
        create_app(_psc_settings(app, "http://auth.example/realm") | {"TESTING": False})


# --- the protocol -----------------------------------------------------------------------------------------------

def test_login_page_shows_the_button_when_configured(psc_client):
    html = psc_client.get("/login").get_data(as_text=True)
    assert "Se connecter avec Pro Santé Connect" in html and 'href="/login/psc"' in html


def test_authorization_request_has_state_nonce_pkce_and_eidas1(psc_client, provider):
    start_login(psc_client)
    sent = provider.authorization_requests[0]
    assert sent["scope"].split() == ["openid", "scope_all"]
    assert sent["acr_values"] == "eidas1"
    assert sent["code_challenge_method"] == "S256" and sent["code_challenge"]
    assert len(sent["state"]) >= 20 and len(sent["nonce"]) >= 32


def test_linked_account_logs_in_without_totp(psc_client, provider, verifications):
    profile = linked_practitioner()
    response = psc_login(psc_client)
    assert response.status_code == 302 and response.headers["Location"] == "/agenda"  # today's agenda grid
    assert is_logged_in(psc_client)
    [login] = events("login.success")
    assert login.actor_id == profile.user.id
    assert login.details == {"method": "pro_sante_connect", "factors": "e_cps"}
    assert verifications == []  # verified when it was linked
    assert provider.token_requests == 1


def test_login_session_follows_the_professional_limits(psc_client, psc_app, provider):
    linked_practitioner()
    psc_login(psc_client)
    with psc_client.session_transaction() as session:
        assert session["auth_at"] == session["seen_at"]
        session["seen_at"] -= psc_app.config["CARNET_SESSION_IDLE_MINUTES"] * 60 + 1
    assert not is_logged_in(psc_client)


def test_userinfo_signed_as_a_jwt_is_read(psc_client, provider):
    linked_practitioner()
    provider.behaviour.userinfo_as_jwt = True
    provider.behaviour.id_token_claims = {"SubjectNameID": None}  # the RPPS comes from the userinfo only
    assert psc_login(psc_client).headers["Location"] == "/agenda"
    assert is_logged_in(psc_client)


def test_bad_signature_is_refused(psc_client, provider):
    linked_practitioner()
    provider.behaviour.sign_with_rogue_key = True
    assert_refused(psc_login(psc_client), 403, "psc_signature", psc_client)


def test_wrong_nonce_is_refused(psc_client, provider):
    linked_practitioner()
    provider.behaviour.id_token_claims = {"nonce": "not-the-nonce-of-this-login"}
    assert_refused(psc_login(psc_client), 403, "psc_nonce", psc_client)


def test_missing_nonce_is_refused(psc_client, provider):
    linked_practitioner()
    provider.behaviour.id_token_claims = {"nonce": None}
    assert_refused(psc_login(psc_client), 403, "psc_nonce", psc_client)


@pytest.mark.parametrize("alg", ["HS256", "none"])
def test_id_token_not_signed_by_the_provider_key_is_refused(psc_client, provider, alg):
    linked_practitioner()
    provider.behaviour.id_token_alg = alg
    assert_refused(psc_login(psc_client), 403, "psc_token", psc_client)


def test_code_refused_at_the_token_endpoint_is_refused(psc_client, provider):
    linked_practitioner()
    provider.behaviour.token_error = "invalid_grant"
    assert_refused(psc_login(psc_client), 403, "psc_token", psc_client)


@pytest.mark.parametrize("claims", [
    {"aud": "another-client", "azp": CLIENT_ID},
    {"iss": "http://127.0.0.1:9/auth/realms/esante-wallet"},
    {"acr": "eidas0"},
    {"exp": 1_000_000_000},
], ids=["audience", "issuer", "acr", "expired"])
def test_id_token_for_someone_else_or_too_weak_is_refused(psc_client, provider, claims):
    linked_practitioner()
    provider.behaviour.id_token_claims = claims
    assert_refused(psc_login(psc_client), 403, "psc_claims", psc_client)


def test_wrong_state_is_refused(psc_client, provider):
    linked_practitioner()
    callback = urlsplit(start_login(psc_client))
    query = parse_qs(callback.query)
    forged = urlencode({"code": query["code"][0], "state": "forged-state"})
    assert_refused(psc_client.get(f"{callback.path}?{forged}"), 400, "psc_state", psc_client)
    assert provider.token_requests == 0  # refused before the code is used


def test_callback_works_once_and_only_in_the_browser_that_started(psc_client, psc_app, provider):
    linked_practitioner()
    callback = start_login(psc_client)
    other_browser = psc_app.test_client()
    assert other_browser.get(callback).status_code == 400
    assert not is_logged_in(other_browser)
    assert psc_client.get(callback).status_code == 302
    assert psc_client.get(callback).status_code == 400  # the state is spent: a replay is refused
    assert provider.token_requests == 1


def test_declining_at_the_provider_goes_back_to_login(psc_client, provider):
    linked_practitioner()
    provider.behaviour.deny = True
    response = psc_login(psc_client)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "annulée" in psc_client.get("/login").get_data(as_text=True)
    assert not is_logged_in(psc_client)


def test_unreachable_provider_is_a_clear_503(app):
    down = create_app(_psc_settings(app, "http://127.0.0.1:9/auth/realms/esante-wallet"))
    down.test_client_class = app.test_client_class
    response = down.test_client().get("/login/psc")
    assert response.status_code == 503
    assert "Pro Santé Connect ne répond pas" in response.get_data(as_text=True)
    with down.app_context():
        db.engine.dispose()


# --- the RPPS of the identity -------------------------------------------------------------------------------------

@pytest.mark.parametrize("subject_name_id", [
    None, "ANS20231122132732", "0751234567", RPPS, "8" + RPPS[:-1] + "7", "8" + RPPS + "0", "8 " + RPPS,
], ids=["missing", "test-identity", "adeli", "no-prefix", "check-digit", "too-long", "space"])
def test_identity_without_a_valid_rpps_is_refused(psc_client, provider, subject_name_id):
    provider.behaviour.person = Person(subject_name_id)
    assert_refused(psc_login(psc_client), 403, "psc_invalid_rpps", psc_client)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_id_token_and_userinfo_naming_different_rpps_are_refused(psc_client, provider):
    linked_practitioner()
    provider.behaviour.userinfo_claims = {"SubjectNameID": "8" + OTHER_RPPS}
    assert_refused(psc_login(psc_client), 403, "psc_invalid_rpps", psc_client)


def test_userinfo_about_another_subject_is_refused(psc_client, provider):
    linked_practitioner()
    provider.behaviour.userinfo_claims = {"sub": "f:someone-else"}
    assert_refused(psc_login(psc_client), 403, "psc_userinfo", psc_client)


def test_closed_account_is_refused(psc_client, provider):
    profile = linked_practitioner(user_overrides={"is_active_account": False})
    assert_refused(psc_login(psc_client), 403, "psc_inactive_account", psc_client)
    assert events("login.failure")[0].target_id == str(profile.user.id)


def test_rpps_of_an_account_that_is_not_a_practitioner_is_refused(psc_client, provider):
    staff = factories.make_staff()
    db.session.add(PractitionerProfile(
        user=staff, first_name="Claire", last_name="Martin", rpps=RPPS, specialty="general_practitioner",
        address="1 rue X", postcode="75011", city="Paris", pro_sante_connect_linked_at=dt.datetime.now(dt.UTC),
    ))
    db.session.commit()
    assert_refused(psc_login(psc_client), 403, "psc_not_practitioner", psc_client)


def test_subject_name_id_reading():
    assert rpps_from_subject_name_id("8" + RPPS) == RPPS
    for value in (None, 8, "8" + RPPS + "\n", "８" + RPPS, "8" + "٩" * 11):
        with pytest.raises(NoValidRpps):
            rpps_from_subject_name_id(value)


# --- linking an existing account, creating a new one ---------------------------------------------------------------

def test_first_login_links_the_existing_account_with_its_password(psc_client, provider, verifications):
    profile = factories.make_practitioner(rpps=RPPS, verification="pending",
                                          user_overrides={"email": "claire.martin@example.com"})
    response = psc_login(psc_client)
    assert response.headers["Location"] == "/login/psc/link"
    assert not is_logged_in(psc_client)
    page = psc_client.get("/login/psc/link").get_data(as_text=True)
    assert "c•••@example.com" in page and RPPS in page

    wrong = post_form(psc_client, "/login/psc/link", {"password": "not-the-password-1"})
    assert wrong.status_code == 200 and "Ce mot de passe est incorrect" in wrong.get_data(as_text=True)
    assert not is_logged_in(psc_client) and verifications == []

    done = post_form(psc_client, "/login/psc/link", {"password": factories.PASSWORD})
    assert done.status_code == 302
    assert is_logged_in(psc_client)
    db.session.refresh(profile)
    assert profile.pro_sante_connect_linked_at is not None
    assert profile.is_verified and profile.verification_method is VerificationMethod.PRO_SANTE_CONNECT
    assert verifications == [{"profile_id": profile.id, "method": VerificationMethod.PRO_SANTE_CONNECT, "by": None}]
    assert [event.target_id for event in events("pro_sante_connect.linked")] == [str(profile.id)]
    assert events("login.success")[0].details["method"] == "pro_sante_connect"

    # From now on the e-CPS opens the account by itself.
    psc_client.post("/logout", data={"csrf_token": csrf_token_of(psc_client.get("/account").get_data(as_text=True))})
    assert psc_login(psc_client).headers["Location"] == "/agenda"


def test_link_page_needs_a_fresh_identity_from_the_callback(psc_client, provider):
    factories.make_practitioner(rpps=RPPS)
    assert psc_client.get("/login/psc/link").headers["Location"] == "/login"
    assert psc_client.get("/login/psc/new").headers["Location"] == "/login"


def test_unknown_rpps_completes_a_new_verified_account(psc_client, provider, verifications):
    provider.behaviour.person = Person("8" + OTHER_RPPS, given_name="Inès", family_name="Lefèvre",
                                       profession_code="70")
    assert psc_login(psc_client).headers["Location"] == "/login/psc/new"
    assert not is_logged_in(psc_client)
    page = psc_client.get("/login/psc/new").get_data(as_text=True)
    assert "Inès" in page and "Lefèvre" in page and OTHER_RPPS in page
    assert '<option selected value="physiotherapist">' in page  # profession 70: masseur-kinésithérapeute

    response = post_form(psc_client, "/login/psc/new", {
        "email": "ines@example.com", "specialty": "physiotherapist", "address": "3 rue des Lilas",
        "postcode": "69003", "city": "Lyon", "password": "", "first_name": "Mallory", "rpps": RPPS,
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    assert is_logged_in(psc_client)
    db.session.expire_all()
    profile = db.session.scalar(sa.select(PractitionerProfile).where(PractitionerProfile.rpps == OTHER_RPPS))
    assert (profile.first_name, profile.last_name, profile.city) == ("Inès", "Lefèvre", "Lyon")
    assert profile.user.email == "ines@example.com" and profile.user.role is Role.PRACTITIONER
    assert profile.pro_sante_connect_linked_at is not None
    assert profile.user.totp_secret and not profile.user.has_totp  # a password login would enrol TOTP first
    assert profile.is_verified and profile.verification_method is VerificationMethod.PRO_SANTE_CONNECT
    assert verifications == [{"profile_id": profile.id, "method": VerificationMethod.PRO_SANTE_CONNECT, "by": None}]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PractitionerProfile)) == 1


def test_new_account_form_shows_errors_next_to_fields(psc_client, provider):
    factories.make_patient(user_overrides={"email": "taken@example.com"})
    provider.behaviour.person = Person("8" + OTHER_RPPS)
    psc_login(psc_client)
    response = post_form(psc_client, "/login/psc/new", {
        "email": "taken@example.com", "specialty": "general_practitioner", "address": "3 rue des Lilas",
        "postcode": "69003", "city": "Lyon", "password": "short",
    })
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="password-error"' in html
    assert not is_logged_in(psc_client)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PractitionerProfile)) == 0
