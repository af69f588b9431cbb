"""The stored summary (the digest, folded in each writing transaction) never differs from the summary
computed from the entries, for the patient side and for a practitioner with entries masked from them,
after any sequence of additions, corrections and masking changes (entries are never deleted)."""

import datetime as dt
import random

import pytest
import sqlalchemy as sa

from webapp.extensions import db
from webapp.notebook import digest, masking, overview, writing
from webapp.notebook.digest import CurrentItem
from webapp.notebook.models import EntryKind, EntryMask, NotebookEntry
from webapp.transaction import transaction

# Fixed moments, far from today: nothing depends on the wall clock's day.
BASE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
RECENT = 3  # latest points of a series the page shows, small so that sequences go past it
OPERATIONS = 40


def _random_data(kind: EntryKind, rng: random.Random, moment: int) -> dict:
    # `moment` is unique per call: no two vaccinations or points share a date, so "the latest" is one.
    at = BASE - dt.timedelta(days=moment)
    if kind is EntryKind.ALLERGY:
        return {"substance": rng.choice(["Latex", "Pollen", "Arachide"]), "severity": rng.choice(["mild", "severe"]),
                "status": rng.choice(["active", "resolved"])}
    if kind is EntryKind.TREATMENT:
        return {"drug": rng.choice(["Metformine", "Levothyrox"]), "dosage": "1 cp", "start": "2019-01-01",
                "end": rng.choice([None, "2020-06-30"])}
    if kind is EntryKind.VACCINATION:
        return {"vaccine": rng.choice(["DTP", "Grippe", "ROR"]), "lot": "A1", "date": at.date().isoformat()}
    measurement_type, unit = rng.choice([("weight", "kg"), ("heart_rate", "bpm")])
    return {"type": measurement_type, "value": rng.randint(50, 90), "unit": unit, "measured_at": at.isoformat()}


def _current_entries() -> list[NotebookEntry]:
    db.session.expire_all()
    return [entry for entry in db.session.scalars(sa.select(NotebookEntry).order_by(NotebookEntry.id))
            if entry.data and not entry.is_superseded]


def _apply(world, rng: random.Random, moment: int) -> None:
    patient, structured = world.users["patient"], [EntryKind.ALLERGY, EntryKind.TREATMENT, EntryKind.VACCINATION,
                                                    EntryKind.MEASUREMENT]
    current = [entry for entry in _current_entries() if entry.patient_id == world.patient.id]
    operation = rng.choice(["add", "add", "correct", "mask"]) if current else "add"
    with transaction():
        if operation == "add":
            kind = rng.choice(structured)
            writing.add_entry(patient, world.patient.id, kind=kind, title="", body="",
                              data=_random_data(kind, rng, moment))
        elif operation == "correct":
            old = rng.choice(current)
            writing.supersede_entry(patient, world.patient.id, old.id, title="", body="",
                                    data=_random_data(old.kind, rng, moment))
        else:
            entry = rng.choice(current)
            hidden = [] if entry.masks else [world.treating.id]
            masking.set_masking(patient, world.patient.id, entry.id, hidden)


def _expected(world, practitioner_id: int | None):
    masked = set(db.session.scalars(sa.select(EntryMask.entry_id).where(EntryMask.practitioner_id == practitioner_id)))
    items = [CurrentItem(entry.id, entry.kind, entry.data) for entry in _current_entries()
             if entry.patient_id == world.patient.id and entry.id not in masked]
    summary = overview.summarize(items)
    series: dict[str, list] = {}
    points = [item for item in items if item.kind is EntryKind.MEASUREMENT]
    for item in sorted(points, key=lambda item: dt.datetime.fromisoformat(item.data["measured_at"])):
        series.setdefault(item.data["type"], []).append(item.id)
    return summary, {kind: ids[-RECENT:] for kind, ids in series.items()}


def _shown(page) -> tuple:
    series: dict[str, list] = {}
    for point in page.measurements:  # oldest first
        series.setdefault(point["type"], []).append(point["entry_id"])
    return page.summary, {kind: ids[-RECENT:] for kind, ids in series.items()}


def _ids(summary) -> tuple:
    return tuple([item.id for item in getattr(summary, name)] for name in ("allergies", "treatments", "vaccinations"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_stored_summary_equals_the_computed_one_after_every_change(world, monkeypatch, seed):
    monkeypatch.setattr(digest, "RECENT_CHART_POINTS", RECENT)
    rng = random.Random(seed)  # nosec B311  # reproducible sequences, nothing secret
    readers = {"patient": None, "treating": world.treating.id}
    for moment in range(OPERATIONS):
        _apply(world, rng, moment)
        for reader, practitioner_id in readers.items():
            with transaction():
                summary, series = _shown(overview.notebook_page(world.users[reader], world.patient.id))
            expected_summary, expected_series = _expected(world, practitioner_id)
            assert _ids(summary) == _ids(expected_summary), (reader, moment)
            assert series == expected_series, (reader, moment)
