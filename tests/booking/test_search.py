"""The one search box: specialties by their everyday names, places and names, accents and case ignored."""

import pytest

from tests import factories
from webapp.accounts.models import PractitionerProfile
from webapp.booking import search
from webapp.booking.specialty_terms import fold, specialties_named, suggestion_labels
from webapp.extensions import db


@pytest.fixture
def directory():
    make = factories.make_practitioner
    return {
        "gp_lyon": make(first_name="Hélène", last_name="Rousseau", specialty="general_practitioner", city="Lyon",
                        postcode="69003"),
        "derm_lyon": make(first_name="Jean", last_name="Lefèvre", specialty="dermatologist", city="Lyon",
                          postcode="69006"),
        "derm_paris": make(first_name="Anne", last_name="Martin", specialty="dermatologist", city="Paris",
                           postcode="75011"),
        "kine": make(first_name="Paul", last_name="Dupont", specialty="physiotherapist", city="Saint-Étienne",
                     postcode="42000"),
        "dentist": make(first_name="Zoé", last_name="N'Guyen", specialty="dentist", city="Paris", postcode="75015"),
        "ophtalmo": make(first_name="Marc", last_name="Blanc", specialty="ophthalmologist", city="Lyon",
                         postcode="69002"),
        "psychologist": make(first_name="Inès", last_name="Garcia", specialty="psychologist", city="Lille",
                             postcode="59000"),
        "psychiatrist": make(first_name="Luc", last_name="Moreau", specialty="psychiatrist", city="Lille",
                             postcode="59000"),
        "gyneco": make(first_name="Sarah", last_name="Petit", specialty="gynecologist", city="Nantes",
                       postcode="44000"),
        "pediatre": make(first_name="Louis", last_name="Roux", specialty="pediatrician", city="Nantes",
                         postcode="44100"),
    }


def found(text: str, **criteria) -> set[int]:
    return set(db.session.scalars(search.search_practitioners(text=text, **criteria).with_only_columns(
        PractitionerProfile.id)))


@pytest.mark.parametrize(("text", "expected"), [
    ("généraliste", {"gp_lyon"}),
    ("generaliste", {"gp_lyon"}),
    ("médecin généraliste", {"gp_lyon"}),
    ("MÉDECIN GÉNÉRALISTE", {"gp_lyon"}),
    ("médecin", {"gp_lyon"}),
    ("dermato", {"derm_lyon", "derm_paris"}),
    ("Dermatologue", {"derm_lyon", "derm_paris"}),
    ("dermato lyon", {"derm_lyon"}),
    ("dermato à Lyon", {"derm_lyon"}),
    ("dermato 75", {"derm_paris"}),
    ("kiné", {"kine"}),
    ("kine saint etienne", {"kine"}),
    ("dentiste", {"dentist"}),
    ("chirurgien-dentiste", {"dentist"}),
    ("ophtalmo", {"ophtalmo"}),
    ("psy", {"psychologist", "psychiatrist"}),
    ("gynéco", {"gyneco"}),
    ("pédiatre", {"pediatre"}),
    ("pediatre nantes", {"pediatre"}),
    ("cardiol", set()),
    ("dermatol", {"derm_lyon", "derm_paris"}),
    ("lefevre", {"derm_lyon"}),
    ("Dr Lefèvre", {"derm_lyon"}),
    ("helene", {"gp_lyon"}),
    ("nguyen", set()),
    ("n'guyen", {"dentist"}),
    ("69", {"gp_lyon", "derm_lyon", "ophtalmo"}),
    ("lyon", {"gp_lyon", "derm_lyon", "ophtalmo"}),
    ("LYON", {"gp_lyon", "derm_lyon", "ophtalmo"}),
    ("étienne", {"kine"}),
    ("dupont kiné", {"kine"}),
    ("dermato brest", set()),
    ("", None),
])
def test_search_box_understands_specialties_places_and_names(directory, text, expected):
    everyone = {key for key in directory}
    expected = everyone if expected is None else expected
    assert found(text) == {directory[key].id for key in expected}


def test_search_words_with_sql_wildcards_match_literally(directory):
    assert found("%") == set()
    assert found("_") == set()


def test_place_argument_ignores_accents_and_case(directory):
    assert found("", place="saint-etienne") == {directory["kine"].id}
    assert found("", city="SAINT-ÉTIENNE") == {directory["kine"].id}
    assert found("", postcode="690") == {directory["gp_lyon"].id, directory["derm_lyon"].id, directory["ophtalmo"].id}


def test_fold_drops_case_accents_and_separators():
    assert fold("Saint-Étienne") == "saint etienne"
    assert fold("  N’GUYEN  ") == "n guyen"
    assert fold("Cœur") == "coeur"


def test_longest_phrase_wins():
    named, rest = specialties_named(["medecin", "generaliste", "lyon"])
    assert named == [{"general_practitioner"}] and rest == ["lyon"]


def test_suggestions_keep_accents():
    assert "pédiatre" in suggestion_labels("pedia")
    assert suggestion_labels("zzz") == []


def test_api_q_understands_the_same_terms(client, directory):
    response = client.get("/api/v1/practitioners?q=dermato+lyon")
    assert response.status_code == 200
    assert [item["id"] for item in response.json["items"]] == [directory["derm_lyon"].id]
