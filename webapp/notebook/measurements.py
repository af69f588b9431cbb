"""Measurement series: the points a reader may see, for the charts and as the API's JSON."""

import datetime as dt
import json

from flask_babel import lazy_gettext as _l

from webapp.accounts.models import User
from webapp.notebook import digest, kinds
from webapp.notebook.digest import CurrentItem
from webapp.notebook.errors import InvalidEntry
from webapp.notebook.models import AccessAction, EntryKind
from webapp.notebook.permissions import NotebookAccess, log_access, notebook_access
from webapp.notebook.visibility import masked_ids


def measurement_points(items: list[CurrentItem]) -> list[dict]:
    points = [
        {"at": dt.datetime.fromisoformat(item.data["measured_at"]), "value": item.data["value"],
         "unit": item.data["unit"], "type": item.data["type"], "entry_id": item.id}
        for item in items if item.kind is EntryKind.MEASUREMENT
    ]
    return sorted(points, key=lambda point: (point["at"], point["entry_id"]))


def _measurement_reader(user: User, patient_id: int,
                        measurement_type: str | None) -> tuple[NotebookAccess, list[str]]:
    """The caller's access (logged as a read of the measurements) and the
    series a request of `measurement_type` reads."""
    if measurement_type is not None and measurement_type not in kinds.ENTRY_MEASUREMENT_TYPES:
        raise InvalidEntry(fields={"type": [str(_l("Unknown measurement type."))]})
    access = notebook_access(user, patient_id)
    log_access(access, AccessAction.VIEW_MEASUREMENTS)
    # A blood pressure entry is stored as two series (systolic, diastolic): asking
    # for it reads both.
    if measurement_type == kinds.BLOOD_PRESSURE:
        return access, sorted(kinds.BLOOD_PRESSURE_SERIES.values())
    return access, [measurement_type] if measurement_type else sorted(kinds.MEASUREMENT_TYPES)


def _visible_measurements(user: User, patient_id: int,
                          measurement_type: str | None) -> tuple[NotebookAccess, list[CurrentItem]]:
    access, series = _measurement_reader(user, patient_id, measurement_type)
    items = digest.measurement_items(access.patient.id, series)
    masked = masked_ids(access)
    return access, [item for item in items if item.id not in masked] if masked else items


def measurement_history(user: User, patient_id: int, *,
                        measurement_type: str | None = None) -> tuple[NotebookAccess, list[dict]]:
    """Current measurements the caller may see, oldest first, optionally of
    one type, with the caller's access (logged as a read of the measurements)."""
    access, items = _visible_measurements(user, patient_id, measurement_type)
    return access, measurement_points(items)


def _api_points(items: list[CurrentItem]) -> list[dict]:
    # Built as plain dicts, not through `MeasurementSchema`: a series holds thousands
    # of points (a test checks that both write the same).
    points = [{"at": data["measured_at"], "value": float(data["value"]), "unit": data["unit"], "type": data["type"],
               "entry_id": item_id} for item_id, _, data in items]
    return sorted(points, key=lambda point: (point["at"], point["entry_id"]))


def _encoded_points(items: list[CurrentItem]) -> bytes:
    return json.dumps(_api_points(items), separators=(",", ":")).encode()


def list_measurements(user: User, patient_id: int, *, measurement_type: str | None = None) -> list[dict]:
    """Current measurements the caller may see, oldest first, optionally of
    one type (logged), as the API writes them (`schemas.MeasurementSchema`).

    A series holds thousands of points: the times pass through as stored, an
    ISO 8601 string in UTC (`kinds.MeasurementDataSchema`), which also sorts
    as the times do."""
    return _api_points(_visible_measurements(user, patient_id, measurement_type)[1])


def measurements_json(user: User, patient_id: int, *, measurement_type: str | None = None) -> bytes:
    """`list_measurements` encoded as a JSON array, under the same rules.

    A reader with no entry masked from them (the patient side, most
    practitioners) gets the encoding the digest keeps (`digest.encoded_measurements`:
    the current points only, dropped when a measurement is appended or
    corrected); a reader with masked entries gets theirs filtered and encoded
    on each request, so a stored encoding never shows them a masked value."""
    access, series = _measurement_reader(user, patient_id, measurement_type)
    masked = masked_ids(access)
    if not masked:
        return digest.encoded_measurements(access.patient.id, measurement_type or "all", series, _encoded_points)
    return _encoded_points([item for item in digest.measurement_items(access.patient.id, series)
                            if item.id not in masked])
