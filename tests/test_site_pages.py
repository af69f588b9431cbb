"""What every page shares: error pages in the visitor's language (French by
default), Flask-Login's note in French, the language kept across a login, the
site icon, and a header with a logo and a menu that folds on a phone."""

import re

import pytest

from tests import factories
from tests.conftest import csrf_token_of
from webapp.accounts.models import User
from webapp.extensions import db


def test_404_page_is_in_french_by_default(client):
    response = client.get("/nothing-here")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert '<html lang="fr">' in page and "<h1>Page introuvable</h1>" in page
    assert "Cette page n&#39;existe pas ou n&#39;est plus disponible." in page and "Erreur 404" in page
    assert "Not Found" not in page and "requested URL" not in page


def test_error_pages_follow_the_browsers_language(client):
    page = client.get("/nothing-here", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "<h1>Page not found</h1>" in page


def test_413_page_is_in_french(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    response = client.post("/login", data={"email": "x" * 5000, "password": "y"})
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "<h1>Fichier trop volumineux</h1>" in page and "Request Entity Too Large" not in page


def test_405_and_csrf_pages_are_in_french(client):
    wrong_method = client.get("/logout")
    assert wrong_method.status_code == 405 and "<h1>Action impossible</h1>" in wrong_method.get_data(as_text=True)
    no_token = client.post("/login", data={"email": "a@example.com", "password": "x"})
    page = no_token.get_data(as_text=True)
    assert no_token.status_code == 400 and "Ce formulaire a expiré" in page and "CSRF" not in page


def test_the_api_keeps_its_json_errors(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_flask_logins_note_is_french_and_styled_as_a_warning(client):
    response = client.get("/notebook")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<p class="flash flash-warning" role="status">Connectez-vous pour continuer.</p>' in page
    assert "Please log in" not in page


def _choose_language(client, code: str) -> None:
    token = csrf_token_of(client.get("/").get_data(as_text=True))
    assert client.post(f"/language/{code}", data={"csrf_token": token, "next": "/"}).status_code == 302


def test_the_language_picked_before_login_is_kept_and_stored_on_the_account(client, log_in):
    patient = factories.make_patient()
    assert patient.account.locale == "fr"
    _choose_language(client, "en")
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)
    log_in(patient.account)
    assert '<html lang="en">' in client.get("/account").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, patient.account.id).locale == "en"  # mail follows too


def test_without_a_choice_the_accounts_language_applies_at_login(client, log_in):
    patient = factories.make_patient(user_overrides={"locale": "en"})
    assert '<html lang="fr">' in client.get("/login").get_data(as_text=True)
    log_in(patient.account)
    assert '<html lang="en">' in client.get("/account").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, patient.account.id).locale == "en"


@pytest.mark.parametrize(("path", "content_type", "magic"), [
    ("/favicon.ico", "image/vnd.microsoft.icon", b"\x00\x00\x01\x00"),
    ("/static/favicon.svg", "image/svg+xml", b"<svg"),
    ("/static/apple-touch-icon.png", "image/png", b"\x89PNG"),
])
def test_the_site_icons_are_served(client, path, content_type, magic):
    response = client.get(path)
    data = response.data
    response.close()  # the file it streamed
    assert response.status_code == 200 and response.mimetype == content_type
    assert data.startswith(magic)


def test_every_page_links_the_icons_and_shows_the_logo(client):
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    assert '<link rel="icon" href="/favicon.ico" sizes="48x48">' in page
    assert re.search(r'<a class="brand" href="/"><img src="/static/favicon.svg" alt="" width="28" height="28">'
                     r'<span>Carnet</span></a>', page)


def test_the_header_menu_folds_into_a_disclosure_for_phones(client, log_in):
    patient = factories.make_patient()
    anonymous = client.get("/").get_data(as_text=True)
    assert '<details class="site-menu">' in anonymous and "<summary>Menu</summary>" in anonymous
    log_in(patient.account)
    page = client.get("/account").get_data(as_text=True)
    wide = re.search(r'<nav class="site-nav-wide"[^>]*>(.*?)</nav>', page, re.S).group(1)
    folded = re.search(r'<details class="site-menu">(.*?)</details>', page, re.S).group(1)
    # The same entries in both, with no script: the CSS shows one or the other.
    links = re.findall(r'<a href="([^"]+)">', wide)
    assert links and links == re.findall(r'<a href="([^"]+)">', folded)
    assert "Se déconnecter" in wide and "Se déconnecter" in folded


def test_the_unexpected_error_page_is_in_french(app):
    from webapp.errors import handle_unexpected_error

    with app.test_request_context("/somewhere"):
        body, status = handle_unexpected_error(RuntimeError("boom"))
    assert status == 500 and "<h1>Erreur inattendue</h1>" in body and "boom" not in body
