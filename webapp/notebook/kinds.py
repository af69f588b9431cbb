"""Entry kinds and their structured data: measurement types, units and plausible ranges.

Each structured kind has a marshmallow schema that validates and normalises
its `data` into plain JSON values (numbers, strings, ISO dates), which is
what gets encrypted with the entry. Free-text kinds take no data.
"""

import datetime as dt
from dataclasses import dataclass

import marshmallow as ma
from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import lazy_gettext as _l
from marshmallow import validate

from webapp.db import now_utc
from webapp.notebook.models import EntryKind

KIND_LABELS = {
    EntryKind.NOTE: _l("Note"),
    EntryKind.REPORT: _l("Report"),
    EntryKind.PRESCRIPTION: _l("Prescription"),
    EntryKind.EXAM_RESULT: _l("Exam result"),
    EntryKind.MEASUREMENT: _l("Measurement"),
    EntryKind.VACCINATION: _l("Vaccination"),
    EntryKind.ALLERGY: _l("Allergy"),
    EntryKind.TREATMENT: _l("Treatment"),
    EntryKind.DOCUMENT: _l("Document"),
}

# Kinds whose content is a document (exported as FHIR DocumentReference).
DOCUMENT_KINDS = (EntryKind.NOTE, EntryKind.REPORT, EntryKind.PRESCRIPTION, EntryKind.EXAM_RESULT, EntryKind.DOCUMENT)


@dataclass(frozen=True)
class UnitRule:
    """A unit accepted for a measurement type, its plausible range and its codes."""

    ucum: str
    minimum: float
    maximum: float
    loinc: str
    loinc_display: str


@dataclass(frozen=True)
class MeasurementType:
    label: object
    units: dict[str, UnitRule]
    chart: str
    category: str  # FHIR observation category: vital-signs or laboratory


MEASUREMENT_TYPES: dict[str, MeasurementType] = {
    "blood_pressure_systolic": MeasurementType(
        _l("Systolic blood pressure"),
        {"mmHg": UnitRule("mm[Hg]", 50, 260, "8480-6", "Systolic blood pressure")}, "blood_pressure", "vital-signs"),
    "blood_pressure_diastolic": MeasurementType(
        _l("Diastolic blood pressure"),
        {"mmHg": UnitRule("mm[Hg]", 30, 160, "8462-4", "Diastolic blood pressure")}, "blood_pressure", "vital-signs"),
    "weight": MeasurementType(
        _l("Weight"), {"kg": UnitRule("kg", 0.5, 400, "29463-7", "Body weight")}, "weight", "vital-signs"),
    "height": MeasurementType(
        _l("Height"), {"cm": UnitRule("cm", 20, 260, "8302-2", "Body height")}, "height", "vital-signs"),
    "glucose": MeasurementType(
        _l("Blood glucose"),
        {"mmol/L": UnitRule("mmol/L", 0.5, 50, "15074-8", "Glucose [Moles/volume] in Blood"),
         "g/L": UnitRule("g/L", 0.1, 9, "2339-0", "Glucose [Mass/volume] in Blood")}, "glucose", "laboratory"),
    "hba1c": MeasurementType(
        _l("HbA1c"),
        {"%": UnitRule("%", 3, 20, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood")}, "hba1c", "laboratory"),
    "heart_rate": MeasurementType(
        _l("Heart rate"), {"bpm": UnitRule("/min", 20, 250, "8867-4", "Heart rate")}, "heart_rate", "vital-signs"),
    "temperature": MeasurementType(
        _l("Body temperature"), {"°C": UnitRule("Cel", 30, 45, "8310-5", "Body temperature")},
        "temperature", "vital-signs"),
}

# Charts group measurement types; glucose in g/L is drawn in mmol/L.
CHART_TITLES = {
    "blood_pressure": _l("Blood pressure (mmHg)"),
    "weight": _l("Weight (kg)"),
    "height": _l("Height (cm)"),
    "glucose": _l("Blood glucose (mmol/L)"),
    "hba1c": _l("HbA1c (%)"),
    "heart_rate": _l("Heart rate (bpm)"),
    "temperature": _l("Body temperature (°C)"),
}
GLUCOSE_MMOL_PER_G = 1000 / 180.156  # 1 g/L of glucose is 5.55 mmol/L

SEVERITIES = {"mild": _l("mild"), "moderate": _l("moderate"), "severe": _l("severe")}
ALLERGY_STATUSES = {"active": _l("active"), "resolved": _l("resolved")}

# Clocks of phones and practitioners' computers drift a little.
CLOCK_TOLERANCE = dt.timedelta(minutes=5)


def _not_in_future_date(value: dt.date) -> None:
    if value > dt.date.today():
        raise ma.ValidationError(str(_l("This date is in the future.")))


class MeasurementDataSchema(ma.Schema):
    type = ma.fields.String(required=True, validate=validate.OneOf(list(MEASUREMENT_TYPES)))
    value = ma.fields.Float(required=True, allow_nan=False)
    unit = ma.fields.String(required=True, validate=validate.Length(max=10))
    measured_at = ma.fields.AwareDateTime(load_default=None)

    @ma.validates("measured_at")
    def _not_in_future(self, value, **kwargs):
        if value is not None and value > now_utc() + CLOCK_TOLERANCE:
            raise ma.ValidationError(str(_l("This time is in the future.")))

    @ma.validates_schema
    def _unit_and_range(self, data, **kwargs):
        measurement = MEASUREMENT_TYPES.get(data.get("type"))
        if measurement is None or "unit" not in data or "value" not in data:
            return
        rule = measurement.units.get(data["unit"])
        if rule is None:
            raise ma.ValidationError(
                str(_l("Use one of these units: %(units)s.", units=", ".join(measurement.units))), "unit")
        if not rule.minimum <= data["value"] <= rule.maximum:
            raise ma.ValidationError(str(_l(
                "This value is not plausible: expected between %(minimum)s and %(maximum)s %(unit)s.",
                minimum=rule.minimum, maximum=rule.maximum, unit=data["unit"])), "value")

    @ma.post_load
    def _normalise(self, data, **kwargs):
        measured_at = data["measured_at"] or now_utc()
        return {"type": data["type"], "value": data["value"], "unit": data["unit"],
                "measured_at": measured_at.astimezone(dt.timezone.utc).isoformat()}


class VaccinationDataSchema(ma.Schema):
    vaccine = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    lot = ma.fields.String(load_default="", validate=validate.Length(max=50))
    date = ma.fields.Date(required=True, validate=_not_in_future_date)

    @ma.post_load
    def _normalise(self, data, **kwargs):
        return {"vaccine": data["vaccine"].strip(), "lot": data["lot"].strip(), "date": data["date"].isoformat()}


class AllergyDataSchema(ma.Schema):
    substance = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    reaction = ma.fields.String(load_default="", validate=validate.Length(max=500))
    severity = ma.fields.String(required=True, validate=validate.OneOf(list(SEVERITIES)))
    status = ma.fields.String(load_default="active", validate=validate.OneOf(list(ALLERGY_STATUSES)))

    @ma.post_load
    def _normalise(self, data, **kwargs):
        return {"substance": data["substance"].strip(), "reaction": data["reaction"].strip(),
                "severity": data["severity"], "status": data["status"]}


class TreatmentDataSchema(ma.Schema):
    drug = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    dosage = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))
    start = ma.fields.Date(required=True)
    end = ma.fields.Date(load_default=None, allow_none=True)

    @ma.validates_schema
    def _end_after_start(self, data, **kwargs):
        if data.get("end") and data.get("start") and data["end"] < data["start"]:
            raise ma.ValidationError(str(_l("The end date is before the start date.")), "end")

    @ma.post_load
    def _normalise(self, data, **kwargs):
        return {"drug": data["drug"].strip(), "dosage": data["dosage"].strip(), "start": data["start"].isoformat(),
                "end": data["end"].isoformat() if data["end"] else None}


DATA_SCHEMAS: dict[EntryKind, type[ma.Schema]] = {
    EntryKind.MEASUREMENT: MeasurementDataSchema,
    EntryKind.VACCINATION: VaccinationDataSchema,
    EntryKind.ALLERGY: AllergyDataSchema,
    EntryKind.TREATMENT: TreatmentDataSchema,
}


def validate_data(kind: EntryKind, data: dict | None) -> tuple[dict | None, dict]:
    """Normalised data of `kind`, or None and the problems by `data.<field>` name."""
    schema_class = DATA_SCHEMAS.get(kind)
    if schema_class is None:
        if data:
            return None, {"data": [str(_l("This kind of entry takes no structured data."))]}
        return None, {}
    if not isinstance(data, dict):
        return None, {"data": [str(_l("The structured data of this kind of entry is missing."))]}
    try:
        return schema_class().load(data), {}
    except ma.ValidationError as error:
        messages = error.normalized_messages()
        return None, {f"data.{name}": list(problems) if isinstance(problems, list) else [str(problems)]
                      for name, problems in messages.items()}


def default_title(kind: EntryKind, data: dict | None) -> str:
    """The title of a structured entry when its author gives none."""
    if kind is EntryKind.MEASUREMENT:
        return str(MEASUREMENT_TYPES[data["type"]].label)
    if kind is EntryKind.VACCINATION:
        return data["vaccine"]
    if kind is EntryKind.ALLERGY:
        return data["substance"]
    if kind is EntryKind.TREATMENT:
        return data["drug"]
    return ""


def measurement_unit_rule(data: dict) -> UnitRule:
    return MEASUREMENT_TYPES[data["type"]].units[data["unit"]]


def chart_value(data: dict) -> float:
    """The value as drawn on its chart (glucose in g/L converted to mmol/L)."""
    if data["type"] == "glucose" and data["unit"] == "g/L":
        return round(data["value"] * GLUCOSE_MMOL_PER_G, 2)
    return data["value"]


def data_lines(kind: EntryKind, data: dict | None) -> list[tuple[str, str]]:
    """The structured data as (label, value) lines for pages and the PDF."""
    if not data:
        return []
    if kind is EntryKind.MEASUREMENT:
        return [
            (str(MEASUREMENT_TYPES[data["type"]].label), f"{format_decimal(data['value'])} {data['unit']}"),
            (str(_l("Measured on")), format_datetime(dt.datetime.fromisoformat(data["measured_at"]), "medium")),
        ]
    if kind is EntryKind.VACCINATION:
        return [(str(_l("Vaccine")), data["vaccine"]), (str(_l("Lot")), data["lot"] or "—"),
                (str(_l("Date")), format_date(dt.date.fromisoformat(data["date"]), "long"))]
    if kind is EntryKind.ALLERGY:
        return [(str(_l("Substance")), data["substance"]), (str(_l("Reaction")), data["reaction"] or "—"),
                (str(_l("Severity")), str(SEVERITIES[data["severity"]])),
                (str(_l("Status")), str(ALLERGY_STATUSES[data["status"]]))]
    return [(str(_l("Drug")), data["drug"]), (str(_l("Dosage")), data["dosage"]),
            (str(_l("Start")), format_date(dt.date.fromisoformat(data["start"]), "long")),
            (str(_l("End")), format_date(dt.date.fromisoformat(data["end"]), "long") if data["end"] else "—")]
