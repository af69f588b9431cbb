"""Entry kinds and their structured data: measurement types, units and plausible ranges.

Each structured kind has a marshmallow schema that validates and normalises
its `data` into plain JSON values (numbers, strings, ISO dates), which is
what gets encrypted with the entry. Free-text kinds take no data.
"""

import datetime as dt
from dataclasses import dataclass

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from marshmallow import validate

from webapp.db import now_utc
from webapp.notebook.formats import decimals, long_dates, medium_datetimes
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

    @property
    def usual_unit(self) -> str:
        """The unit the form proposes first: the first one listed."""
        return next(iter(self.units))


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
        # g/L first: French laboratories and meters report glycaemia in g/L.
        {"g/L": UnitRule("g/L", 0.1, 9, "2339-0", "Glucose [Mass/volume] in Blood"),
         "mmol/L": UnitRule("mmol/L", 0.5, 50, "15074-8", "Glucose [Moles/volume] in Blood")}, "glucose", "laboratory"),
    "hba1c": MeasurementType(
        _l("HbA1c"),
        {"%": UnitRule("%", 3, 20, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood")}, "hba1c", "laboratory"),
    "heart_rate": MeasurementType(
        _l("Heart rate"), {"bpm": UnitRule("/min", 20, 250, "8867-4", "Heart rate")}, "heart_rate", "vital-signs"),
    "temperature": MeasurementType(
        _l("Body temperature"), {"°C": UnitRule("Cel", 30, 45, "8310-5", "Body temperature")},
        "temperature", "vital-signs"),
}

# Charts group measurement types; each is drawn in the unit its entries use
# (see `chart_unit`), its title naming that unit.
CHART_LABELS = {
    "blood_pressure": _l("Blood pressure"),
    "weight": _l("Weight"),
    "height": _l("Height"),
    "glucose": _l("Blood glucose"),
    "hba1c": _l("HbA1c"),
    "heart_rate": _l("Heart rate"),
    "temperature": _l("Body temperature"),
}
# 1 g/L of glucose is 5.551 mmol/L (molar mass 180.156 g/mol).
GLUCOSE_MMOL_PER_G = 1000 / 180.156
# Factors between the units of one measurement type: value in `to` = value in `from` × factor.
UNIT_FACTORS = {("glucose", "g/L", "mmol/L"): GLUCOSE_MMOL_PER_G}

# Blood pressure is written as one entry with both values (`BloodPressureDataSchema`)
# and read as one point in each of the two series; the separate types stay for
# older entries and API clients.
BLOOD_PRESSURE = "blood_pressure"
BLOOD_PRESSURE_LABEL = _l("Blood pressure")
BLOOD_PRESSURE_UNIT = "mmHg"
BLOOD_PRESSURE_SERIES = {"systolic": "blood_pressure_systolic", "diastolic": "blood_pressure_diastolic"}
BLOOD_PRESSURE_PANEL = ("85354-9", "Blood pressure panel with all children optional")
# Entry types a measurement may have: the series types and the combined one.
ENTRY_MEASUREMENT_TYPES = [BLOOD_PRESSURE, *MEASUREMENT_TYPES]
# What the page form offers: the combined blood pressure instead of its two halves.
FORM_MEASUREMENT_TYPES = [key for key in ENTRY_MEASUREMENT_TYPES if key not in BLOOD_PRESSURE_SERIES.values()]

SEVERITIES = {"mild": _l("mild"), "moderate": _l("moderate"), "severe": _l("severe")}
ALLERGY_STATUSES = {"active": _l("active"), "resolved": _l("resolved")}

# Clocks of phones and practitioners' computers drift a little.
CLOCK_TOLERANCE = dt.timedelta(minutes=5)


def _not_in_future_date(value: dt.date) -> None:
    if value > dt.date.today():
        raise ma.ValidationError(str(_l("This date is in the future.")))


def units_of(measurement_type: str) -> list[str]:
    """The units a measurement type accepts, its usual one first."""
    if measurement_type == BLOOD_PRESSURE:
        return [BLOOD_PRESSURE_UNIT]
    return list(MEASUREMENT_TYPES[measurement_type].units)


def usual_unit(measurement_type: str) -> str:
    return units_of(measurement_type)[0]


def _foreign_unit_message(measurement_type: str) -> str:
    return str(_l("This unit does not suit this measurement (%(measurement)s): use %(units)s.",
                  measurement=measurement_label(measurement_type), units=", ".join(units_of(measurement_type))))


class _MeasuredAtSchema(ma.Schema):
    measured_at = ma.fields.AwareDateTime(load_default=None)

    @ma.validates("measured_at")
    def _not_in_future(self, value, **kwargs):
        if value is not None and value > now_utc() + CLOCK_TOLERANCE:
            raise ma.ValidationError(str(_l("This time is in the future.")))

    @staticmethod
    def _measured_at(data) -> str:
        return (data["measured_at"] or now_utc()).astimezone(dt.UTC).isoformat()


class MeasurementDataSchema(_MeasuredAtSchema):
    type = ma.fields.String(required=True, validate=validate.OneOf(ENTRY_MEASUREMENT_TYPES))
    value = ma.fields.Float(required=True, allow_nan=False)
    unit = ma.fields.String(required=True, validate=validate.Length(max=10))

    @ma.validates_schema
    def _unit_and_range(self, data, **kwargs):
        measurement = MEASUREMENT_TYPES.get(data.get("type"))
        if measurement is None or "unit" not in data or "value" not in data:
            return
        rule = measurement.units.get(data["unit"])
        if rule is None:
            raise ma.ValidationError(_foreign_unit_message(data["type"]), "unit")
        if not rule.minimum <= data["value"] <= rule.maximum:
            raise ma.ValidationError(str(_l(
                "This value is not plausible: expected between %(minimum)s and %(maximum)s %(unit)s.",
                minimum=rule.minimum, maximum=rule.maximum, unit=data["unit"])), "value")

    @ma.post_load
    def _normalise(self, data, **kwargs):
        return {"type": data["type"], "value": data["value"], "unit": data["unit"],
                "measured_at": self._measured_at(data)}


class BloodPressureDataSchema(_MeasuredAtSchema):
    """Both values of one blood pressure reading, in whole mmHg, the systolic above the diastolic."""

    type = ma.fields.String(required=True, validate=validate.Equal(BLOOD_PRESSURE))
    systolic = ma.fields.Integer(required=True, strict=True)
    diastolic = ma.fields.Integer(required=True, strict=True)
    unit = ma.fields.String(load_default=BLOOD_PRESSURE_UNIT, validate=validate.Length(max=10))

    @ma.validates_schema
    def _unit_and_ranges(self, data, **kwargs):
        if data.get("unit", BLOOD_PRESSURE_UNIT) != BLOOD_PRESSURE_UNIT:
            raise ma.ValidationError(_foreign_unit_message(BLOOD_PRESSURE), "unit")
        errors = {}
        for name, series in BLOOD_PRESSURE_SERIES.items():
            rule = MEASUREMENT_TYPES[series].units[BLOOD_PRESSURE_UNIT]
            if name in data and not rule.minimum <= data[name] <= rule.maximum:
                errors[name] = [str(_l(
                    "This value is not plausible: expected between %(minimum)s and %(maximum)s %(unit)s.",
                    minimum=int(rule.minimum), maximum=int(rule.maximum), unit=BLOOD_PRESSURE_UNIT))]
        if errors:
            raise ma.ValidationError(errors)
        if "systolic" in data and "diastolic" in data and data["systolic"] <= data["diastolic"]:
            raise ma.ValidationError(str(_l("The diastolic value must be below the systolic value.")), "diastolic")

    @ma.post_load
    def _normalise(self, data, **kwargs):
        return {"type": BLOOD_PRESSURE, "systolic": data["systolic"], "diastolic": data["diastolic"],
                "unit": data["unit"], "measured_at": self._measured_at(data)}


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
    if kind is EntryKind.MEASUREMENT and data.get("type") == BLOOD_PRESSURE:
        schema_class = BloodPressureDataSchema
    try:
        return schema_class().load(data), {}
    except ma.ValidationError as error:
        messages = error.normalized_messages()
        return None, {f"data.{name}": list(problems) if isinstance(problems, list) else [str(problems)]
                      for name, problems in messages.items()}


def default_title(kind: EntryKind, data: dict | None) -> str:
    """The title of a structured entry when its author gives none."""
    if kind is EntryKind.MEASUREMENT:
        return str(measurement_label(data["type"]))
    if kind is EntryKind.VACCINATION:
        return data["vaccine"]
    if kind is EntryKind.ALLERGY:
        return data["substance"]
    if kind is EntryKind.TREATMENT:
        return data["drug"]
    return ""


def measurement_label(measurement_type: str):
    if measurement_type == BLOOD_PRESSURE:
        return BLOOD_PRESSURE_LABEL
    return MEASUREMENT_TYPES[measurement_type].label


def series_data(data: dict) -> list[dict]:
    """A measurement's data as points of the series (one per type): a blood
    pressure entry gives a systolic and a diastolic point."""
    if data["type"] != BLOOD_PRESSURE:
        return [data]
    return [{"type": series, "value": data[name], "unit": data["unit"], "measured_at": data["measured_at"]}
            for name, series in BLOOD_PRESSURE_SERIES.items()]


def measurement_unit_rule(data: dict) -> UnitRule:
    return MEASUREMENT_TYPES[data["type"]].units[data["unit"]]


def convert(measurement_type: str, value: float, from_unit: str, to_unit: str) -> float:
    """`value` of a measurement type from one of its units to another (glucose g/L ↔ mmol/L)."""
    if from_unit == to_unit:
        return value
    factor = UNIT_FACTORS.get((measurement_type, from_unit, to_unit))
    if factor is None:
        factor = 1 / UNIT_FACTORS[(measurement_type, to_unit, from_unit)]
    return value * factor


def chart_unit(points: list[dict]) -> str:
    """The unit of a chart: the one most of its points were entered in; on a
    tie, the one of the latest point (`points` sorted by time)."""
    counts: dict[str, int] = {}
    for point in points:
        counts[point["unit"]] = counts.get(point["unit"], 0) + 1
    latest = points[-1]["unit"]
    return max(counts, key=lambda unit: (counts[unit], unit == latest))


def data_lines(kind: EntryKind, data: dict | None) -> list[tuple[str, str]]:
    """The structured data as (label, value) lines for pages and the PDF."""
    if not data:
        return []
    if kind is EntryKind.MEASUREMENT:
        measured_on = medium_datetimes()(dt.datetime.fromisoformat(data["measured_at"]))
        if data["type"] == BLOOD_PRESSURE:
            return [(str(BLOOD_PRESSURE_LABEL), f"{data['systolic']}/{data['diastolic']} {data['unit']}"),
                    (str(_l("Measured on")), measured_on)]
        return [(str(MEASUREMENT_TYPES[data["type"]].label), f"{decimals()(data['value'])} {data['unit']}"),
                (str(_l("Measured on")), measured_on)]
    long_date = long_dates()
    if kind is EntryKind.VACCINATION:
        return [(str(_l("Vaccine")), data["vaccine"]), (str(_l("Lot")), data["lot"] or "—"),
                (str(_l("Date")), long_date(data["date"]))]
    if kind is EntryKind.ALLERGY:
        return [(str(_l("Substance")), data["substance"]), (str(_l("Reaction")), data["reaction"] or "—"),
                (str(_l("Severity")), str(SEVERITIES[data["severity"]])),
                (str(_l("Status")), str(ALLERGY_STATUSES[data["status"]]))]
    return [(str(_l("Drug")), data["drug"]), (str(_l("Dosage")), data["dosage"]),
            (str(_l("Start")), long_date(data["start"])),
            (str(_l("End")), long_date(data["end"]) if data["end"] else "—")]
