"""The stored encoding of the measurements API (`digest.encoded_measurements`): served as stored to readers
with nothing masked from them, never a masked, corrected or stale value, dropped when a measurement changes."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.notebook.factories import make_measurement, mask_entry, past
from webapp.crypto import encrypt
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notebook import digest, measurements, writing
from webapp.notebook.digest import ENCODED_PREFIX, encoded_part
from webapp.notebook.models import EmergencyAccess, NotebookDigest
from webapp.transaction import transaction

URL = "/api/v1/patients/{pid}/measurements"


def _encoded_parts(patient_id: int) -> dict[str, int]:
    db.session.expire_all()
    return dict(db.session.execute(
        sa.select(NotebookDigest.part, NotebookDigest.entry_count)
        .where(NotebookDigest.patient_id == patient_id, NotebookDigest.part.startswith(ENCODED_PREFIX))).all())


def _values(client, bearer, world, user, measurement_type=None) -> list:
    query = {"type": measurement_type} if measurement_type else {}
    response = client.get(URL.format(pid=world.patient.id), query_string=query, headers=bearer(user))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    return [point["value"] for point in response.get_json()["items"]]


def _add(world, value: float, days_ago: int, measurement_type="weight", unit="kg"):
    with transaction():
        return writing.add_entry(world.users["patient"], world.patient.id, kind="measurement", title="", body="",
                                 data={"type": measurement_type, "value": value, "unit": unit,
                                        "measured_at": past(days_ago).isoformat()})


@pytest.mark.parametrize("measurement_type", [None, "weight", "blood_pressure", "heart_rate"])
def test_the_stored_encoding_is_the_answer_computed_from_the_entries(client, bearer, world, measurement_type):
    _add(world, 80, 2)
    with transaction():
        writing.add_entry(world.users["patient"], world.patient.id, kind="measurement", title="", body="",
                          data={"type": "blood_pressure", "systolic": 128, "diastolic": 81, "unit": "mmHg",
                                 "measured_at": past(1).isoformat()})
    query = {"type": measurement_type} if measurement_type else {}
    first = client.get(URL.format(pid=world.patient.id), query_string=query, headers=bearer(world.users["patient"]))
    assert _encoded_parts(world.patient.id) == {encoded_part(measurement_type or "all"): 3}
    again = client.get(URL.format(pid=world.patient.id), query_string=query, headers=bearer(world.users["treating"]))
    expected = measurements.list_measurements(world.users["patient"], world.patient.id,
                                              measurement_type=measurement_type)
    assert first.get_json() == again.get_json() == {"items": expected}


def test_a_stored_encoding_is_read_without_the_series(client, bearer, world, monkeypatch):
    _values(client, bearer, world, world.users["patient"], "weight")
    monkeypatch.setattr(digest, "_read", lambda *args: pytest.fail("the series were read again"))
    assert _values(client, bearer, world, world.users["treating"], "weight") == [81.5]


def test_a_correction_drops_the_stored_encoding_and_never_shows_the_superseded_value(client, bearer, world):
    point = _add(world, 80, 2)
    assert _values(client, bearer, world, world.users["patient"], "weight") == [81.5, 80]
    with transaction():
        writing.supersede_entry(world.users["patient"], world.patient.id, point.id, title="", body="",
                                data={"type": "weight", "value": 79, "unit": "kg",
                                       "measured_at": past(2).isoformat()})
    assert _encoded_parts(world.patient.id) == {}
    assert _values(client, bearer, world, world.users["patient"], "weight") == [81.5, 79]
    assert _values(client, bearer, world, world.users["treating"]) == [81.5, 79]


def test_an_appended_measurement_drops_every_stored_encoding(client, bearer, world):
    for measurement_type in (None, "weight", "heart_rate"):
        _values(client, bearer, world, world.users["patient"], measurement_type)
    assert len(_encoded_parts(world.patient.id)) == 3
    _add(world, 64, 1, "heart_rate", "bpm")
    assert _encoded_parts(world.patient.id) == {}
    assert _values(client, bearer, world, world.users["patient"]) == [81.5, 64]


def test_another_kind_of_entry_carries_the_stored_encoding_over(client, bearer, world):
    _values(client, bearer, world, world.users["patient"], "weight")
    with transaction():
        writing.add_entry(world.users["patient"], world.patient.id, kind="allergy", title="", body="",
                          data={"substance": "Latex", "severity": "mild"})
    assert _encoded_parts(world.patient.id) == {encoded_part("weight"): 2}
    assert _values(client, bearer, world, world.users["treating"], "weight") == [81.5]


def test_a_mask_set_after_the_encoding_was_stored_hides_the_value(client, bearer, world):
    hidden = make_measurement(world.patient, "weight", 70, "kg", days_ago=1)
    assert _values(client, bearer, world, world.users["patient"], "weight") == [81.5, 70]
    assert _values(client, bearer, world, world.users["treating"], "weight") == [81.5, 70]
    mask_entry(hidden, world.treating)  # no entry appended: the stored encoding stays current
    assert _values(client, bearer, world, world.users["treating"], "weight") == [81.5]
    assert _values(client, bearer, world, world.users["treating"]) == [81.5]
    # A practitioner with another entry masked from them reads the points they may see.
    assert _values(client, bearer, world, world.users["masked"], "weight") == [81.5, 70]
    assert _values(client, bearer, world, world.users["patient"], "weight") == [81.5, 70]


def test_an_emergency_reader_never_gets_a_masked_value_from_the_stored_encoding(client, bearer, world):
    hidden = make_measurement(world.patient, "weight", 70, "kg", days_ago=1)
    assert _values(client, bearer, world, world.users["patient"], "weight") == [81.5, 70]
    db.session.add(EmergencyAccess(patient_id=world.patient.id, practitioner_id=world.unrelated.id,
                                   user_id=world.unrelated.user.id, reason=encrypt(b"Patient inconscient"),
                                   expires_at=now_utc() + dt.timedelta(hours=1)))
    db.session.commit()
    assert _values(client, bearer, world, world.users["unrelated"], "weight") == [81.5, 70]
    mask_entry(hidden, world.unrelated)
    assert _values(client, bearer, world, world.users["unrelated"], "weight") == [81.5]


def test_a_revoked_practitioner_gets_nothing_from_the_stored_encoding(client, bearer, world):
    _values(client, bearer, world, world.users["patient"], "weight")
    response = client.get(URL.format(pid=world.patient.id), query_string={"type": "weight"},
                          headers=bearer(world.users["revoked"]))
    assert response.status_code == 404
    assert b"81.5" not in response.get_data()


def test_an_encoding_written_at_another_count_is_neither_served_nor_carried_over(client, bearer, world):
    _add(world, 80, 2)
    # As if a reader that read the series before the last append had stored its encoding after it.
    with transaction():
        digest._upsert(world.patient.id, 1, {encoded_part("weight"): encrypt(b'[{"value":99}]')})
    # A fold of another kind carries over only the parts that were current.
    with transaction():
        writing.add_entry(world.users["patient"], world.patient.id, kind="allergy", title="", body="",
                          data={"substance": "Arachide", "severity": "severe"})
    assert _encoded_parts(world.patient.id) == {encoded_part("weight"): 1}
    assert _values(client, bearer, world, world.users["patient"], "weight") == [81.5, 80]
    assert _encoded_parts(world.patient.id) == {encoded_part("weight"): 3}


def test_the_stored_encoding_is_encrypted(client, bearer, world):
    _values(client, bearer, world, world.users["patient"], "weight")
    content = db.session.scalar(sa.select(NotebookDigest.content).where(
        NotebookDigest.patient_id == world.patient.id, NotebookDigest.part == encoded_part("weight")))
    assert b"81.5" not in content and b"weight" not in content
