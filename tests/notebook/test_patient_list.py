"""The practitioner's patient list: search by name and birth date, paging, a constant query count."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import make_appointment
from tests.notebook.factories import past, revoke
from webapp.accounts.models import Role
from webapp.errors import Forbidden
from webapp.extensions import db
from webapp.notebook import patient_lists

URL = "/practitioner/patients"


@pytest.fixture
def practitioner():
    return factories.make_practitioner()


def _patients_of(practitioner, *names_and_births, days_ago: int = 10):
    """Desk patients seen by the practitioner, one a day from `days_ago` back:
    (first name, last name, birth date) each."""
    patients = []
    for index, (first_name, last_name, birth_date) in enumerate(names_and_births):
        patient = factories.make_desk_patient(first_name=first_name, last_name=last_name, birth_date=birth_date)
        make_appointment(practitioner, patient, past(days_ago + index))
        patients.append(patient)
    return patients


def _many_patients(practitioner, count: int, start: int = 0):
    names = [("Jean", f"Numéro{n:03d}", dt.date(1990, 1, 1)) for n in range(start, start + count)]
    return _patients_of(practitioner, *names, days_ago=10 + start)


def _names(practitioner, **search) -> list[str]:
    statement = patient_lists.search_treated_patients(practitioner.user, **search)
    return [patient.last_name for patient in db.session.scalars(statement)]


def test_search_matches_every_word_in_first_or_last_name(practitioner):
    _patients_of(practitioner, ("Léa", "Martin", dt.date(1990, 1, 2)), ("Paul", "Martinez", dt.date(1985, 6, 7)),
                 ("Martine", "Durand", dt.date(1970, 3, 4)), ("Léa", "Bernard", dt.date(2001, 8, 9)))
    assert _names(practitioner, text="martin") == ["Durand", "Martin", "Martinez"]
    assert _names(practitioner, text="léa MART") == ["Martin"]
    assert _names(practitioner, birth_date=dt.date(1985, 6, 7)) == ["Martinez"]
    assert _names(practitioner, text="léa", birth_date=dt.date(2001, 8, 9)) == ["Bernard"]
    assert _names(practitioner, text="%") == []  # a wildcard is a plain character


def test_search_never_shows_a_patient_who_revoked_or_was_never_seen(practitioner):
    seen, gone = _patients_of(practitioner, ("Léa", "Martin", dt.date(1990, 1, 2)),
                              ("Léa", "Martinez", dt.date(1990, 1, 2)))
    revoke(gone, practitioner)
    other = factories.make_practitioner()
    _patients_of(other, ("Léa", "Martinot", dt.date(1990, 1, 2)))
    assert _names(practitioner, text="Léa") == ["Martin"]


@pytest.mark.parametrize("role", [Role.PATIENT, Role.STAFF, Role.ADMIN])
def test_only_practitioners_search_their_patients(role):
    user = factories.make_patient().account if role is Role.PATIENT else factories.make_staff(role=role)
    with pytest.raises(Forbidden):
        patient_lists.search_treated_patients(user, text="a")


def test_the_page_searches_without_javascript(client, login, practitioner):
    _patients_of(practitioner, ("Léa", "Martin", dt.date(1990, 1, 2)), ("Paul", "Durand", dt.date(1985, 6, 7)))
    login(practitioner.user)
    page = client.get(URL + "?q=mart").get_data(as_text=True)
    assert 'role="search"' in page and 'value="mart"' in page
    assert "Martin Léa" in page and "Durand" not in page and "1 patient" in page
    page = client.get(URL + "?born=1985-06-07").get_data(as_text=True)
    assert "Durand Paul" in page and "Martin" not in page
    page = client.get(URL + "?q=personne").get_data(as_text=True)
    assert "Aucun patient ne correspond à cette recherche." in page


def test_a_bad_birth_date_is_shown_next_to_the_field(client, login, practitioner):
    _patients_of(practitioner, ("Léa", "Martin", dt.date(1990, 1, 2)))
    login(practitioner.user)
    response = client.get(URL + "?born=31/02/1990")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="born-error"' in page and "Martin Léa" in page


def test_the_list_is_paged_and_the_pages_keep_the_search(client, login, practitioner):
    _many_patients(practitioner, 23)
    login(practitioner.user)
    first = client.get(URL + "?q=jean").get_data(as_text=True)
    assert first.count("<tr>") == 21 and "23 patients" in first  # a header row and 20 patients
    next_link = re.search(r'href="([^"]*page=2[^"]*)"', first).group(1)
    assert "q=jean" in next_link and "Page suivante" in first
    second = client.get(URL + "?q=jean&page=2").get_data(as_text=True)
    assert second.count("<tr>") == 4 and "Numéro022" in second and "Numéro000" not in second
    assert client.get(URL + "?page=abc").status_code == 200


def _statements_for(client, url: str) -> int:
    count = 0

    def count_statement(*args):
        nonlocal count
        count += 1

    sa.event.listen(db.engine, "before_cursor_execute", count_statement)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count_statement)
    return count


@pytest.mark.parametrize("query", ["", "?q=jean", "?q=jean&born=1990-01-01&page=2"])
def test_the_list_costs_the_same_for_few_or_many_patients(client, login, practitioner, query):
    _many_patients(practitioner, 3)
    login(practitioner.user)
    few = _statements_for(client, URL + query)
    _many_patients(practitioner, 40, start=3)
    many = _statements_for(client, URL + query)
    assert few == many
