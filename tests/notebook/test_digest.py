"""The notebook digest: one encrypted row of the current structured entries, folded on append,
rebuilt when stale, masked per reader, re-encrypted with the rest."""

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from tests.notebook.factories import make_entry, make_measurement, mask_entry, past
from webapp.extensions import db
from webapp.notebook import digest, models, services
from webapp.notebook.models import NotebookDigest
from webapp.notebook.schemas import MeasurementSchema, measurement_json
from webapp.transaction import transaction


def _stored(patient_id: int) -> NotebookDigest | None:
    db.session.expire_all()
    return db.session.get(NotebookDigest, patient_id)


def _counting_decryptions(monkeypatch) -> list:
    calls = []
    real_decrypt = models.decrypt
    monkeypatch.setattr(models, "decrypt", lambda token: calls.append(token) or real_decrypt(token))
    return calls


def _add_weight(world, value: float, days_ago: int):
    with transaction():
        return services.add_entry(world.users["patient"], world.patient.id, kind="measurement", title="", body="",
                                  data={"type": "weight", "value": value, "unit": "kg",
                                        "measured_at": past(days_ago).isoformat()})


def test_appending_folds_the_entry_in_and_a_read_decrypts_only_the_digest(world, monkeypatch):
    _add_weight(world, 80, 3)
    with transaction():
        allergy = services.add_entry(world.users["patient"], world.patient.id, kind="allergy", title="", body="",
                                     data={"substance": "Pénicilline", "severity": "severe"})
    with transaction():
        services.supersede_entry(world.users["patient"], world.patient.id, allergy.id, title="", body="",
                                 data={"substance": "Amoxicilline", "severity": "severe"})
    make_entry(world.patient, title="Une note ne change pas le digest")
    stored = _stored(world.patient.id)
    # The fixture's measurement, the weight, the corrected allergy and its correction.
    assert stored is not None and stored.entry_count == 4
    calls = _counting_decryptions(monkeypatch)
    items = digest.current_items(world.patient.id)
    assert len(calls) == 1
    assert [(item.kind.value, item.data.get("substance", item.data.get("value"))) for item in items] == [
        ("measurement", 81.5), ("measurement", 80.0), ("allergy", "Amoxicilline")]


def test_a_digest_missing_entries_is_rebuilt_from_them(world):
    digest.current_items(world.patient.id)
    # Written straight to the table, as an import would: the digest no longer matches.
    make_measurement(world.patient, "weight", 77, "kg", days_ago=2)
    values = [point["value"] for point in services.list_measurements(world.users["patient"], world.patient.id)]
    assert values == [81.5, 77]
    assert _stored(world.patient.id).entry_count == 2


def test_a_lost_race_is_repaired_on_the_next_append(world):
    _add_weight(world, 80, 3)
    # As if a concurrent writer's fold had been overwritten by an older digest.
    with transaction():
        digest._store(world.patient.id, 1, [])
    _add_weight(world, 79, 1)
    assert [point["value"] for point in services.list_measurements(world.users["patient"], world.patient.id)] == [
        81.5, 80, 79]
    assert _stored(world.patient.id).entry_count == 3


def test_the_digest_is_masked_per_practitioner(world):
    hidden = make_measurement(world.patient, "weight", 70, "kg", days_ago=4)
    own = make_measurement(world.patient, "weight", 71, "kg", days_ago=2, author=world.treating.user)
    allergy = make_entry(world.patient, kind="allergy", title="", data={"substance": "Latex", "severity": "mild"})
    for entry in (hidden, own, allergy):
        mask_entry(entry, world.treating)
    practitioner = services.notebook_page(world.users["treating"], world.patient.id)
    assert [point["value"] for point in practitioner.measurements] == [81.5, 71]  # their own entry stays
    assert practitioner.summary.allergies == []
    patient = services.notebook_page(world.users["patient"], world.patient.id)
    assert [point["value"] for point in patient.measurements] == [70, 81.5, 71]
    assert [item.data["substance"] for item in patient.summary.allergies] == ["Latex"]


def test_the_digest_is_stored_encrypted_and_reencrypted_with_the_rest(app, world, monkeypatch):
    make_entry(world.patient, kind="allergy", title="", data={"substance": "Arachide", "severity": "severe"})
    digest.current_items(world.patient.id)
    raw = db.session.scalar(sa.select(NotebookDigest.content).where(NotebookDigest.patient_id == world.patient.id))
    assert b"Arachide" not in raw and b"weight" not in raw
    new_key = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "CARNET_ENCRYPTION_KEYS", [new_key, *app.config["CARNET_ENCRYPTION_KEYS"]])
    result = app.test_cli_runner().invoke(args=["notebook", "reencrypt"])
    assert "notebook_digests: 1 rows re-encrypted" in result.output
    monkeypatch.setitem(app.config, "CARNET_ENCRYPTION_KEYS", [new_key])
    db.session.expire_all()
    assert [item.data.get("substance") for item in digest.current_items(world.patient.id)] == [None, "Arachide"]


@pytest.mark.parametrize("value", [81.5, 80])
def test_series_points_are_written_as_the_schema_dumps_them(world, value):
    make_measurement(world.patient, "weight", value, "kg", days_ago=1)
    for point in services.list_measurements(world.users["patient"], world.patient.id):
        assert measurement_json(point) == MeasurementSchema().dump(point)
