"""The notebook digest: encrypted parts of the current structured entries (the summary, one series per
measurement type), folded on append, rebuilt when stale, masked per reader, re-encrypted with the rest."""

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from tests.notebook.factories import make_entry, make_measurement, mask_entry, past
from webapp.extensions import db
from webapp.notebook import digest, measurements, models, overview, writing
from webapp.notebook.digest import RECENT_CHART_POINTS, SUMMARY, measurement_part
from webapp.notebook.models import NotebookDigest
from webapp.notebook.schemas import MeasurementSchema
from webapp.transaction import transaction

WEIGHT = measurement_part("weight")


def _stored(patient_id: int) -> dict[str, NotebookDigest]:
    db.session.expire_all()
    return {row.part: row for row in db.session.scalars(
        sa.select(NotebookDigest).where(NotebookDigest.patient_id == patient_id))}


def _counting_decryptions(monkeypatch) -> list:
    calls = []
    real_decrypt = models.decrypt
    monkeypatch.setattr(models, "decrypt", lambda token: calls.append(token) or real_decrypt(token))
    return calls


def _add_measurement(world, value: float, days_ago: int, measurement_type="weight", unit="kg"):
    with transaction():
        return writing.add_entry(world.users["patient"], world.patient.id, kind="measurement", title="", body="",
                                 data={"type": measurement_type, "value": value, "unit": unit,
                                        "measured_at": past(days_ago).isoformat()})


def world_weight_id(world) -> int:
    return db.session.scalar(sa.select(sa.func.min(models.NotebookEntry.id)).where(
        models.NotebookEntry.patient_id == world.patient.id, models.NotebookEntry.kind == models.EntryKind.MEASUREMENT))


def _values(items) -> list:
    return [(item.kind.value, item.data.get("substance", item.data.get("value"))) for item in items]


def test_appending_folds_the_entry_into_its_part_and_a_read_decrypts_only_that_part(world, monkeypatch):
    _add_measurement(world, 80, 3)
    with transaction():
        allergy = writing.add_entry(world.users["patient"], world.patient.id, kind="allergy", title="", body="",
                                    data={"substance": "Pénicilline", "severity": "severe"})
    with transaction():
        writing.supersede_entry(world.users["patient"], world.patient.id, allergy.id, title="", body="",
                                data={"substance": "Amoxicilline", "severity": "severe"})
    make_entry(world.patient, title="Une note ne change pas le digest")
    stored = _stored(world.patient.id)
    # The fixture's measurement, the weight, the corrected allergy and its correction: every part at 4.
    assert set(stored) == {SUMMARY, WEIGHT} and {row.entry_count for row in stored.values()} == {4}
    calls = _counting_decryptions(monkeypatch)
    assert _values(digest.summary_items(world.patient.id)) == [
        ("allergy", "Amoxicilline"), ("measurement", 81.5), ("measurement", 80.0)]
    assert len(calls) == 1
    assert _values(digest.measurement_items(world.patient.id, ["weight", "heart_rate"])) == [
        ("measurement", 81.5), ("measurement", 80.0)]
    assert len(calls) == 2


def test_the_summary_part_keeps_only_the_latest_points_of_each_type(world):
    older = [make_measurement(world.patient, "weight", 60 + days / 10, "kg", days_ago=days + 10)
             for days in range(RECENT_CHART_POINTS + 5)]
    _add_measurement(world, 72, 0, "heart_rate", "bpm")
    summary = {item.id for item in digest.summary_items(world.patient.id) if item.data["type"] == "weight"}
    # The fixture's point (the newest weight) and the newest of the older ones.
    assert summary == {world_weight_id(world), *(entry.id for entry in older[:RECENT_CHART_POINTS - 1])}
    assert len(digest.measurement_items(world.patient.id, ["weight"])) == RECENT_CHART_POINTS + 6


def test_a_corrected_measurement_may_move_to_another_series(world):
    point = _add_measurement(world, 80, 3)
    with transaction():
        writing.supersede_entry(world.users["patient"], world.patient.id, point.id, title="", body="",
                                data={"type": "heart_rate", "value": 64, "unit": "bpm",
                                       "measured_at": past(3).isoformat()})
    series = {measurement_type: [p["value"] for p in measurements.list_measurements(
        world.users["patient"], world.patient.id, measurement_type=measurement_type)]
        for measurement_type in ("weight", "heart_rate")}
    assert series == {"weight": [81.5], "heart_rate": [64]}
    assert sorted(item.data["value"] for item in digest.summary_items(world.patient.id)) == [64, 81.5]
    assert {row.entry_count for row in _stored(world.patient.id).values()} == {3}


def test_a_digest_missing_entries_is_rebuilt_from_them(world):
    digest.summary_items(world.patient.id)
    # Written straight to the table, as an import would: the digest no longer matches.
    make_measurement(world.patient, "weight", 77, "kg", days_ago=2)
    values = [point["value"] for point in measurements.list_measurements(world.users["patient"], world.patient.id)]
    assert values == [81.5, 77]
    assert {row.entry_count for row in _stored(world.patient.id).values()} == {2}


def test_a_part_written_at_another_count_is_rebuilt_when_read(world):
    _add_measurement(world, 80, 3)
    # As if a concurrent rebuild had overwritten the series with an older one.
    with transaction():
        digest._store(world.patient.id, 1, {WEIGHT: []})
    assert [point["value"] for point in measurements.list_measurements(
        world.users["patient"], world.patient.id, measurement_type="weight")] == [81.5, 80]
    assert _stored(world.patient.id)[WEIGHT].entry_count == 2


def test_a_lost_race_is_repaired_on_the_next_append(world):
    _add_measurement(world, 80, 3)
    # As if a concurrent writer's fold had been overwritten by an older digest.
    with transaction():
        digest._store(world.patient.id, 1, {SUMMARY: {"items": [], "shown": {}}})
    _add_measurement(world, 79, 1)
    assert [point["value"] for point in measurements.list_measurements(world.users["patient"], world.patient.id)] == [
        81.5, 80, 79]
    assert {row.entry_count for row in _stored(world.patient.id).values()} == {3}


def test_the_digest_is_masked_per_practitioner(world):
    hidden = make_measurement(world.patient, "weight", 70, "kg", days_ago=4)
    own = make_measurement(world.patient, "weight", 71, "kg", days_ago=2, author=world.treating.user)
    allergy = make_entry(world.patient, kind="allergy", title="", data={"substance": "Latex", "severity": "mild"})
    for entry in (hidden, own, allergy):
        mask_entry(entry, world.treating)
    practitioner = overview.notebook_page(world.users["treating"], world.patient.id)
    assert [point["value"] for point in practitioner.measurements] == [81.5, 71]  # their own entry stays
    assert practitioner.summary.allergies == []
    patient = overview.notebook_page(world.users["patient"], world.patient.id)
    assert [point["value"] for point in patient.measurements] == [70, 81.5, 71]
    assert [item.data["substance"] for item in patient.summary.allergies] == ["Latex"]


def test_latest_points_masked_from_a_practitioner_leave_room_for_older_ones(world):
    older = [make_measurement(world.patient, "weight", 60 + days / 10, "kg", days_ago=days + 10)
             for days in range(RECENT_CHART_POINTS)]
    mask_entry(older[0], world.treating)  # the newest of them
    page = overview.notebook_page(world.users["treating"], world.patient.id)
    # Every weight but the masked one: the fixture's point and the 29 others, the oldest included.
    assert {point["entry_id"] for point in page.measurements} == {world_weight_id(world),
                                                                  *(entry.id for entry in older[1:])}


def test_the_digest_is_stored_encrypted_and_reencrypted_with_the_rest(app, owner_app, world, monkeypatch):
    make_entry(world.patient, kind="allergy", title="", data={"substance": "Arachide", "severity": "severe"})
    digest.summary_items(world.patient.id)
    db.session.commit()  # as the request that built it would: the owner's re-encryption runs on its own connection
    for row in _stored(world.patient.id).values():
        assert b"Arachide" not in row.content and b"weight" not in row.content
    new_key = Fernet.generate_key().decode()
    keys = [new_key, *app.config["CARNET_ENCRYPTION_KEYS"]]
    monkeypatch.setitem(app.config, "CARNET_ENCRYPTION_KEYS", keys)
    monkeypatch.setitem(owner_app.config, "CARNET_ENCRYPTION_KEYS", keys)
    with owner_app.app_context():  # as the migration role (README "Database roles")
        result = owner_app.test_cli_runner().invoke(args=["notebook", "reencrypt"])
    assert "notebook_digests: 2 rows re-encrypted" in result.output
    monkeypatch.setitem(app.config, "CARNET_ENCRYPTION_KEYS", [new_key])
    db.session.expire_all()
    assert _values(digest.summary_items(world.patient.id)) == [("allergy", "Arachide"), ("measurement", 81.5)]
    assert _values(digest.measurement_items(world.patient.id, ["weight"])) == [("measurement", 81.5)]


@pytest.mark.parametrize("value", [81.5, 80])
def test_series_points_are_written_as_the_schema_dumps_them_in_time_order(world, value):
    make_measurement(world.patient, "weight", value, "kg", days_ago=1)
    # Given in other offsets, with and without fractions of a second: stored in UTC, they sort as the times do.
    for measured_at in ("2026-01-01T09:00:00.250000+01:00", "2026-01-01T08:00:00+00:00",
                        "2026-01-01T03:00:00.100000-05:00"):
        with transaction():
            writing.add_entry(world.users["patient"], world.patient.id, kind="measurement", title="", body="",
                              data={"type": "weight", "value": value, "unit": "kg", "measured_at": measured_at})
    history = measurements.measurement_history(world.users["patient"], world.patient.id)[1]
    assert measurements.list_measurements(world.users["patient"], world.patient.id) == \
        MeasurementSchema(many=True).dump(history)


def test_correcting_the_latest_vaccination_brings_the_previous_one_back(world):
    def vaccinate(date: str, lot: str):
        with transaction():
            return writing.add_entry(world.users["patient"], world.patient.id, kind="vaccination", title="",
                                     body="", data={"vaccine": "DTP", "lot": lot, "date": date})

    vaccinate("2020-05-01", "A1")
    latest = vaccinate("2024-05-01", "B2")
    assert [item.data["lot"] for item in digest.summary_items(world.patient.id)
            if item.kind is models.EntryKind.VACCINATION] == ["B2"]
    with transaction():
        writing.supersede_entry(world.users["patient"], world.patient.id, latest.id, title="", body="",
                                data={"vaccine": "Grippe", "lot": "B2", "date": "2024-05-01"})
    summary = overview.notebook_page(world.users["patient"], world.patient.id).summary
    assert [(item.data["vaccine"], item.data["lot"]) for item in summary.vaccinations] == [
        ("Grippe", "B2"), ("DTP", "A1")]


def test_the_summary_part_leaves_out_what_the_summary_never_shows(world):
    with transaction():
        allergy = writing.add_entry(world.users["patient"], world.patient.id, kind="allergy", title="", body="",
                                    data={"substance": "Latex", "severity": "mild", "status": "resolved"})
        writing.add_entry(world.users["patient"], world.patient.id, kind="treatment", title="", body="",
                          data={"drug": "Amoxicilline", "dosage": "1 g", "start": "2020-01-01", "end": "2020-01-08"})
        writing.add_entry(world.users["patient"], world.patient.id, kind="treatment", title="", body="",
                          data={"drug": "Levothyrox", "dosage": "50 µg", "start": "2020-01-01"})
    assert [item.data.get("drug") for item in digest.summary_items(world.patient.id)
            if item.kind is not models.EntryKind.MEASUREMENT] == ["Levothyrox"]
    with transaction():  # the allergy is active again
        writing.supersede_entry(world.users["patient"], world.patient.id, allergy.id, title="", body="",
                                data={"substance": "Latex", "severity": "mild", "status": "active"})
    assert [item.data["substance"] for item in overview.notebook_page(
        world.users["patient"], world.patient.id).summary.allergies] == ["Latex"]


def test_a_latest_vaccination_masked_from_a_practitioner_leaves_the_previous_one_as_theirs(world):
    older = make_entry(world.patient, kind="vaccination", title="",
                       data={"vaccine": "DTP", "lot": "A1", "date": "2015-03-01"})
    latest = make_entry(world.patient, kind="vaccination", title="",
                        data={"vaccine": "DTP", "lot": "B2", "date": "2024-03-01"})
    mask_entry(latest, world.treating)
    practitioner = overview.notebook_page(world.users["treating"], world.patient.id)
    assert [item.id for item in practitioner.summary.vaccinations] == [older.id]
    patient = overview.notebook_page(world.users["patient"], world.patient.id)
    assert [item.id for item in patient.summary.vaccinations] == [latest.id]
