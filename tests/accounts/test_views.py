"""Account pages: sign-up, login with TOTP enrolment and codes, logout, reset, CSRF."""

import logging
import re

from tests import factories
from tests.conftest import csrf_token_of
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.notifications.sender import send_due_notifications


def test_patient_signs_up_and_is_logged_in(form_post, client):
    response = form_post("/signup/patient", {
        "first_name": "Marie", "last_name": "Lambert", "birth_date": "1986-04-12",
        "email": "marie@example.com", "password": "une-phrase-2026",
    }, follow_redirects=True)
    assert response.status_code == 200
    assert "Bienvenue sur Carnet" in response.get_data(as_text=True)
    assert db.session.query(User).filter_by(email="marie@example.com").one().patient_profile.last_name == "Lambert"


def test_signup_form_shows_errors_next_to_fields(form_post):
    factories.make_patient(user_overrides={"email": "taken@example.com"})
    response = form_post("/signup/patient", {
        "first_name": "Marie", "last_name": "Lambert", "birth_date": "1986-04-12",
        "email": "taken@example.com", "password": "une-phrase-2026",
    })
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="email-error"' in html and "Un compte existe déjà" in html


def test_practitioner_signup_refuses_bad_rpps_with_clear_message(form_post):
    response = form_post("/signup/practitioner", {
        "first_name": "Claire", "last_name": "Martin", "rpps": "99700218897", "specialty": "dermatologist",
        "address": "1 rue X", "postcode": "75011", "city": "Paris",
        "email": "claire@example.com", "password": "une-phrase-2026",
    })
    assert "clé de contrôle" in response.get_data(as_text=True)
    assert db.session.query(User).count() == 0


def test_practitioner_signup_enrols_totp_with_local_qr_code(form_post, client):
    response = form_post("/signup/practitioner", {
        "first_name": "Claire", "last_name": "Martin", "rpps": "99700218896", "specialty": "dermatologist",
        "address": "1 rue X", "postcode": "75011", "city": "Paris",
        "email": "claire@example.com", "password": "une-phrase-2026",
    })
    assert response.headers["Location"].endswith("/login/two-factor-setup")
    page = client.get("/login/two-factor-setup").get_data(as_text=True)
    assert "<svg" in page and "http" not in (page.split("<svg", 1)[1].split("</svg>", 1)[0]
                                                    .replace("http://www.w3.org", ""))
    secret = re.search(r'class="secret">([A-Z2-7]+)<', page).group(1)
    wrong = form_post("/login/two-factor-setup", {"code": "000000"})
    assert wrong.status_code == 200
    done = form_post("/login/two-factor-setup", {"code": factories.totp_code(secret)})
    assert done.status_code == 302
    user = db.session.query(User).filter_by(email="claire@example.com").one()
    assert user.has_totp
    assert client.get("/account").status_code == 200


def test_patient_login_and_logout(form_post, client):
    patient = factories.make_patient()
    response = form_post("/login", {"email": patient.account.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    assert patient.full_name in client.get("/account").get_data(as_text=True)
    form_post("/logout", {}, page="/account")
    assert client.get("/account").status_code == 302


def units_that_wrote(events: list[str]) -> int:
    """How many commits ended a transaction that wrote (a read-only one that
    PostgreSQL ends with a commit does not count)."""
    units, wrote = 0, False
    for event in events:
        wrote = wrote or event == "write"
        if event == "commit":
            units, wrote = units + wrote, False
    return units


def test_a_login_writes_in_one_unit_of_work(client, sql_events):
    # The login's count, the session's record and the kept language commit together.
    patient = factories.make_patient()
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    with sql_events() as events:
        response = client.post("/login", data={"email": patient.account.email, "password": factories.PASSWORD,
                                               "csrf_token": token})
    assert response.status_code == 302
    assert units_that_wrote(events) == 1
    assert patient.full_name in client.get("/account").get_data(as_text=True)


def test_login_with_wrong_password_shows_message(form_post):
    patient = factories.make_patient()
    response = form_post("/login", {"email": patient.account.email, "password": "wrong-password-1"})
    assert "E-mail ou mot de passe incorrect" in response.get_data(as_text=True)


def test_practitioner_login_asks_for_totp_code(form_post, client):
    practitioner = factories.make_practitioner()
    first = form_post("/login", {"email": practitioner.user.email, "password": factories.PASSWORD})
    assert first.headers["Location"].endswith("/login/code")
    assert client.get("/account").status_code == 302  # not logged in before the code
    wrong = form_post("/login/code", {"code": "123456"})
    assert "deux facteurs" in wrong.get_data(as_text=True)
    good = form_post("/login/code", {"code": factories.totp_now(practitioner.user)})
    assert good.status_code == 302
    assert client.get("/account").status_code == 200


def test_a_code_opens_one_web_login(client, form_post):
    practitioner = factories.make_practitioner().user
    code = factories.totp_now(practitioner)
    form_post("/login", {"email": practitioner.email, "password": factories.PASSWORD})
    assert form_post("/login/code", {"code": code}).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token_of(client.get("/account").get_data(as_text=True))})
    assert client.get("/account").status_code == 302
    form_post("/login", {"email": practitioner.email, "password": factories.PASSWORD})
    again = form_post("/login/code", {"code": code})
    assert again.status_code == 200 and "deux facteurs" in again.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    # Nor does it open a token after the page login.
    token = client.post("/api/v1/auth/token", json={"email": practitioner.email, "password": factories.PASSWORD,
                                                     "totp": code})
    assert token.status_code == 401 and token.json["error"]["code"] == "totp_required"
    assert form_post("/login/code", {"code": factories.totp_now(practitioner)}).status_code == 302


def test_totp_page_without_password_step_goes_back_to_login(client):
    assert client.get("/login/code").headers["Location"].endswith("/login")


def test_form_post_without_csrf_token_is_refused(client):
    patient = factories.make_patient()
    response = client.post("/login", data={"email": patient.account.email, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert client.get("/account").status_code == 302


def test_login_is_rate_limited_with_clear_message(form_post):
    responses = [form_post("/login", {"email": "x@example.com", "password": "wrong-password-1"}) for _ in range(11)]
    assert responses[-1].status_code == 429
    assert "Trop de tentatives" in responses[-1].get_data(as_text=True)


def test_lockout_message_after_repeated_failures(form_post, app):
    from webapp.extensions import limiter

    patient = factories.make_patient()
    for _ in range(app.config["CARNET_LOGIN_LOCKOUT_ATTEMPTS"]):
        form_post("/login", {"email": patient.account.email, "password": "wrong-password-1"})
        limiter.reset()
    response = form_post("/login", {"email": patient.account.email, "password": factories.PASSWORD})
    assert "ce compte est bloqué" in response.get_data(as_text=True)


def test_password_reset_by_emailed_link(form_post, client, caplog):
    patient = factories.make_patient()
    with caplog.at_level(logging.INFO, logger="carnet.mail"):
        form_post("/password/forgot", {"email": patient.account.email})
        send_due_notifications()  # the outbox job, with the console transport of the tests
    link = re.search(r"http://carnet\.test(/password/reset/\S+)", caplog.text).group(1)
    assert form_post(link, {"password": "un-nouveau-2026"}).status_code == 302
    assert form_post("/login", {"email": patient.account.email, "password": "un-nouveau-2026"}).status_code == 302
    reused = form_post(link, {"password": "encore-un-2026"})
    assert "invalide ou a expiré" in reused.get_data(as_text=True)


def test_password_reset_does_not_reveal_unknown_accounts(form_post, caplog):
    with caplog.at_level(logging.INFO, logger="carnet.mail"):
        response = form_post("/password/forgot", {"email": "nobody@example.com"}, follow_redirects=True)
        send_due_notifications()
    assert "Si un compte existe" in response.get_data(as_text=True)
    assert "nobody@example.com" not in caplog.text


def test_next_parameter_cannot_redirect_off_site(form_post, client):
    patient = factories.make_patient()
    client.get("/login?next=https://evil.example/phish")
    response = form_post("/login", {"email": patient.account.email, "password": factories.PASSWORD})
    assert response.headers["Location"] == "/"
