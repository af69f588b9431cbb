"""Names are printable text with a letter; birth dates lie between 1900-01-01 and today, everywhere."""

import datetime as dt

import pytest

from tests import factories
from tests.audit.factories import log_in
from webapp.accounts.identity_rules import check_birth_date, check_person_name, civil_today, is_adult
from webapp.accounts.models import PatientProfile
from webapp.booking.desk import create_desk_patient
from webapp.booking.errors import InvalidBookingData
from webapp.extensions import db
from webapp.transaction import transaction

BAD_NAMES = ["\x00\x01", "   ", "123", "\u202e", "Jean\u202eLuc", "Zo\u200bé", "x" * 101]
GOOD_NAMES = ["Jean-Pierre", "O'Brien", "Zoé", "N'Diaye", "Nguyễn", "Łukasz"]


def _bad_dates() -> list[str]:
    return ["0478-06-01", "1899-12-31", (civil_today() + dt.timedelta(days=1)).isoformat()]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused(name):
    assert check_person_name(name)


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_real_names_are_accepted(name):
    assert check_person_name(name) is None


def test_birth_dates_from_1900_to_today(frozen_clock):
    today = civil_today()
    assert check_birth_date(dt.date(1900, 1, 1)) is None and check_birth_date(today) is None
    for date in (dt.date(478, 6, 1), dt.date(1899, 12, 31), today + dt.timedelta(days=1)):
        assert check_birth_date(date)


def test_today_is_paris_today(frozen_clock):
    # 23:30 UTC on 31 December is already New Year's Day in Paris.
    frozen_clock.now = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert civil_today() == dt.date(2027, 1, 1)
    assert check_birth_date(dt.date(2027, 1, 1)) is None
    assert is_adult(dt.date(2009, 1, 1)) and not is_adult(dt.date(2009, 1, 2))


# --- API -----------------------------------------------------------------------------------------

def _signup(**overrides) -> dict:
    return {"role": "patient", "email": "lucie@example.org", "password": "une-longue-phrase-2026",
            "first_name": "Lucie", "last_name": "Moreau", "birth_date": "1990-05-17"} | overrides


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize("name", BAD_NAMES)
def test_api_refuses_bad_names(client, api_token, field, name):
    response = client.post("/api/v1/accounts", json=_signup(**{field: name}))
    assert response.status_code == 422 and field in response.json["error"]["fields"]
    headers = api_token(factories.make_patient().account)
    relative = {"first_name": "Jules", "last_name": "Lambert", "birth_date": "2016-09-03", field: name}
    response = client.post("/api/v1/me/relatives", headers=headers, json=relative)
    assert response.status_code == 422 and field in response.json["error"]["fields"]


def test_api_refuses_bad_birth_dates(client, api_token, frozen_clock):
    headers = api_token(factories.make_patient().account)
    for date in _bad_dates():
        response = client.post("/api/v1/accounts", json=_signup(birth_date=date))
        assert response.status_code == 422 and "birth_date" in response.json["error"]["fields"], date
        response = client.post("/api/v1/me/relatives", headers=headers,
                               json={"first_name": "Jules", "last_name": "Lambert", "birth_date": date})
        assert response.status_code == 422 and "birth_date" in response.json["error"]["fields"], date
    assert client.get("/api/v1/me/relatives", headers=headers).json == {"items": []}


@pytest.mark.parametrize("name", GOOD_NAMES[:4])
def test_api_accepts_real_names_trimmed(client, api_token, name):
    headers = api_token(factories.make_patient().account)
    response = client.post("/api/v1/me/relatives", headers=headers,
                           json={"first_name": f" {name} ", "last_name": name, "birth_date": "1900-01-01"})
    assert response.status_code == 201 and response.json["first_name"] == name


# --- Services and pages ------------------------------------------------------------------------------

def test_the_desk_cannot_create_a_patient_with_a_bad_identity():
    practitioner = factories.make_practitioner()
    for identity in ({"first_name": "\u202e", "birth_date": dt.date(1980, 1, 1)},
                     {"first_name": "Louise", "birth_date": dt.date(1899, 12, 31)}):
        with pytest.raises(InvalidBookingData) as refused, transaction():
            create_desk_patient(practitioner.user, practitioner_id=practitioner.id, last_name="Moreau",
                                email="l@example.org", **identity)
        assert set(refused.value.fields) == {"first_name"} or set(refused.value.fields) == {"birth_date"}
    assert db.session.query(PatientProfile).count() == 0


def test_the_signup_form_shows_the_rules_next_to_the_fields(client, form_post):
    response = form_post("/signup/patient", {"first_name": "123", "last_name": "Moreau", "email": "l@example.org",
                                             "password": "une-longue-phrase-2026", "birth_date": "1899-12-31"})
    page = response.get_data(as_text=True)
    assert 'id="first_name-error"' in page and "Un nom contient au moins une lettre." in page
    assert 'id="birth_date-error"' in page and "postérieure au 1900-01-01" in page


def test_the_relatives_form_adds_a_relative_or_shows_errors(client, form_post):
    user = factories.make_patient().account
    log_in(form_post, user)
    response = form_post("/account/relatives", {"first_name": "\x01", "last_name": "Roux", "birth_date": "0478-01-01"},
                         page="/account")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="first_name-error"' in page and 'id="birth_date-error"' in page
    response = form_post("/account/relatives", {"first_name": "Zoé", "last_name": "N'Diaye",
                                                "birth_date": "2018-04-02"}, page="/account", follow_redirects=True)
    assert "Zoé N&#39;Diaye" in response.get_data(as_text=True)


def test_the_desk_patient_form_shows_the_rules(client, form_post):
    log_in(form_post, factories.make_practitioner().user)
    response = form_post("/agenda/patients/new", {"first_name": "   ", "last_name": "Moreau",
                                                  "birth_date": "1899-12-31", "email": "l@example.org"})
    page = response.get_data(as_text=True)
    assert 'id="first_name-error"' in page and 'id="birth_date-error"' in page
