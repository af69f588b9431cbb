"""Units follow the measurement type: the form offers the type's units with its usual one by default,
the service refuses a foreign unit in French, and the conversions the charts use."""

import re

import pytest
import sqlalchemy as sa

from tests.notebook.factories import make_measurement
from webapp.extensions import db
from webapp.notebook.kinds import convert, units_of, usual_unit, validate_data
from webapp.notebook.models import EntryKind, NotebookEntry

P = "/patients/{pid}/notebook"


def _unit_options(page: str) -> list[str]:
    select = re.search(r'<select[^>]*name="unit"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.findall(r'<option[^>]*value="([^"]*)"', select)


def _latest_entry() -> NotebookEntry:
    return db.session.scalar(sa.select(NotebookEntry).order_by(NotebookEntry.id.desc()))


def test_each_type_has_its_usual_unit_first():
    assert usual_unit("glucose") == "g/L" and units_of("glucose") == ["g/L", "mmol/L"]
    assert usual_unit("weight") == "kg" and usual_unit("temperature") == "°C"
    assert usual_unit("blood_pressure") == "mmHg" and usual_unit("hba1c") == "%"


def test_glucose_converts_both_ways():
    assert round(convert("glucose", 1.0, "g/L", "mmol/L"), 3) == 5.551
    assert round(convert("glucose", 5.551, "mmol/L", "g/L"), 3) == 1.0
    assert convert("weight", 80, "kg", "kg") == 80


def test_new_measurement_form_defaults_to_the_usual_unit(client, world, login):
    login(world.users["patient"])
    page = client.get(P.format(pid=world.patient.id) + "/new?kind=measurement").get_data(as_text=True)
    options = _unit_options(page)
    # No unit of another type is preselected: the usual unit of whatever type is chosen comes first.
    assert options[0] == "" and '<option selected value="">Unité habituelle de la mesure</option>' in page
    assert set(options[1:]) == {"mmHg", "kg", "cm", "g/L", "mmol/L", "%", "bpm", "°C"}
    # Each unit is grouped under its type, for the page script that keeps only the chosen type's.
    assert '<optgroup label="Glycémie"><option data-type="glucose" value="g/L">' in page
    assert 'data-units-of="measurement_type"' in page and "js/notebook-units.js" in page


@pytest.mark.parametrize(("measurement_type", "value", "unit"), [
    ("glucose", "1.05", "g/L"), ("weight", "72.5", "kg"), ("temperature", "37.2", "°C"), ("hba1c", "6.1", "%"),
])
def test_first_try_without_choosing_a_unit_succeeds(client, world, login, form_post, measurement_type, value, unit):
    login(world.users["patient"])
    response = form_post(P.format(pid=world.patient.id) + "/new?kind=measurement",
                         {"measurement_type": measurement_type, "value": value, "unit": ""})
    assert response.status_code == 302
    assert _latest_entry().data["unit"] == unit and _latest_entry().data["value"] == float(value)


def test_blood_pressure_without_a_unit_is_in_mmhg(client, world, login, form_post):
    login(world.users["patient"])
    response = form_post(P.format(pid=world.patient.id) + "/new?kind=measurement",
                         {"measurement_type": "blood_pressure", "systolic": "131", "diastolic": "79"})
    assert response.status_code == 302 and _latest_entry().data["unit"] == "mmHg"


def test_a_unit_foreign_to_the_type_is_refused_in_french_and_only_the_types_units_are_offered(
        client, world, login, form_post):
    login(world.users["patient"])
    before = db.session.scalar(sa.select(sa.func.count(NotebookEntry.id)))
    response = form_post(P.format(pid=world.patient.id) + "/new?kind=measurement",
                         {"measurement_type": "glucose", "value": "1.1", "unit": "kg"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Cette unité ne convient pas à cette mesure (Glycémie) : utilisez g/L, mmol/L." in page
    assert 'id="unit-error"' in page and _unit_options(page) == ["", "g/L", "mmol/L"]
    assert db.session.scalar(sa.select(sa.func.count(NotebookEntry.id))) == before


def test_a_correction_offers_the_units_of_the_entrys_type(client, world, login):
    entry = make_measurement(world.patient, "glucose", 6.2, "mmol/L")
    login(world.users["patient"])
    page = client.get(P.format(pid=world.patient.id) + f"/entries/{entry.id}/supersede").get_data(as_text=True)
    assert _unit_options(page) == ["", "g/L", "mmol/L"]
    assert '<option data-type="glucose" selected value="mmol/L">' in page


def test_the_api_refuses_a_foreign_unit_with_the_types_units(app):
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        data, problems = validate_data(EntryKind.MEASUREMENT, {"type": "temperature", "value": 37, "unit": "°F"})
    assert data is None
    assert problems == {"data.unit": ["Cette unité ne convient pas à cette mesure (Température) : utilisez °C."]}
