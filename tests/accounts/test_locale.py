"""The language switch: a visitor's choice stays in the session, an account's is stored on it."""

from tests import factories
from webapp.extensions import db


def test_the_switch_stores_the_accounts_language(form_post, log_in, client):
    patient = factories.make_patient().account
    log_in(patient)
    assert form_post("/language/en", {"next": "/"}, page="/").status_code == 302
    db.session.expire_all()
    assert patient.locale == "en"


def test_an_unknown_language_changes_nothing(form_post, log_in):
    patient = factories.make_patient().account
    log_in(patient)
    form_post("/language/xx", {"next": "/"}, page="/")
    db.session.expire_all()
    assert patient.locale in (None, "fr")
