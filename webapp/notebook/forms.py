"""Forms of the notebook pages: one entry form per kind, files, emergency access."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    DateTimeLocalField,
    FloatField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from webapp.accounts.forms import birth_date_field, person_name_field, totp_code_field
from webapp.notebook.kinds import (
    ALLERGY_STATUSES,
    BLOOD_PRESSURE,
    BLOOD_PRESSURE_SERIES,
    ENTRY_MEASUREMENT_TYPES,
    FORM_MEASUREMENT_TYPES,
    SEVERITIES,
    measurement_label,
    units_of,
    usual_unit,
)
from webapp.notebook.models import EntryKind
from webapp.notebook.rules import BODY_MAX, REASON_MAX, REASON_MIN, TITLE_MAX


class _EntryForm(FlaskForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=TITLE_MAX)],
                        description=_l("Optional: a title is made from the details otherwise."))
    body = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=BODY_MAX)])

    # Service field names ("data.value") → this form's fields.
    data_fields: dict[str, str] = {}

    def data_payload(self) -> dict | None:
        return None

    def service_field(self, name: str) -> str:
        name = name.removeprefix("data.")
        return self.data_fields.get(name, name)


class TextEntryForm(_EntryForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    body = TextAreaField(_l("Text"), validators=[Optional(), Length(max=BODY_MAX)])


def _measurement_choices(keys) -> list[SelectChoice]:
    return [SelectChoice(key, measurement_label(key)) for key in keys]


def _unit_choices(keys) -> list[SelectChoice]:
    """The usual unit of whatever type is chosen, then the units of each type
    in `keys` in a group of its own (the page script keeps only the chosen
    type's units; without it, the usual unit is always right)."""
    return [SelectChoice("", _l("Usual unit of the measurement")), *(
        SelectChoice(unit, unit, render_kw={"data-type": key}, optgroup=measurement_label(key))
        for key in keys for unit in units_of(key))]


class MeasurementForm(_EntryForm):
    # Older entries' separate blood pressure types are not offered but stay
    # correctable: the service validates the type.
    measurement_type = SelectField(_l("Measurement"), choices=_measurement_choices(FORM_MEASUREMENT_TYPES),
                                   validate_choice=False)
    value = FloatField(_l("Value"), validators=[Optional()],
                       description=_l("For every measurement but blood pressure."))
    systolic = IntegerField(_l("Systolic (mmHg)"), validators=[Optional()],
                            description=_l("Blood pressure only: the higher value."))
    diastolic = IntegerField(_l("Diastolic (mmHg)"), validators=[Optional()],
                             description=_l("Blood pressure only: the lower value."))
    # The service refuses a unit foreign to the type, with its own message.
    unit = SelectField(_l("Unit"), choices=_unit_choices(FORM_MEASUREMENT_TYPES), default="", validate_choice=False,
                       render_kw={"data-units-of": "measurement_type"})
    measured_at = DateTimeLocalField(_l("Measured on"), validators=[Optional()],
                                     description=_l("Leave empty for now."))
    data_fields = {"type": "measurement_type"}

    def validate(self, extra_validators=None) -> bool:
        is_valid = super().validate(extra_validators)
        needed = list(BLOOD_PRESSURE_SERIES) if self.measurement_type.data == BLOOD_PRESSURE else ["value"]
        for name in needed:
            field = getattr(self, name)
            if field.data is None and not field.errors:
                field.errors = [*field.errors, _("This field is required.")]
                is_valid = False
        return is_valid

    def offer_units_of_chosen_type(self) -> None:
        """Once a type is chosen (a form sent back, a correction), offer its units only."""
        if self.measurement_type.data in ENTRY_MEASUREMENT_TYPES:
            self.unit.choices = _unit_choices([self.measurement_type.data])

    def data_payload(self) -> dict:
        # An unknown type gets no unit: the service names the type as the problem.
        known = self.measurement_type.data in ENTRY_MEASUREMENT_TYPES
        unit = self.unit.data or (usual_unit(self.measurement_type.data) if known else "")
        measured_at = None
        if self.measured_at.data:
            zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
            measured_at = self.measured_at.data.replace(tzinfo=zone).astimezone(dt.UTC).isoformat()
        if self.measurement_type.data == BLOOD_PRESSURE:
            # Leave out what is missing: the service names the field to fill.
            values = {name: getattr(self, name).data for name in BLOOD_PRESSURE_SERIES
                      if getattr(self, name).data is not None}
            return {"type": BLOOD_PRESSURE, **values, "unit": unit, "measured_at": measured_at}
        return {"type": self.measurement_type.data, "unit": unit, "measured_at": measured_at,
                **({"value": self.value.data} if self.value.data is not None else {})}


class VaccinationForm(_EntryForm):
    vaccine = StringField(_l("Vaccine"), validators=[DataRequired(), Length(max=200)])
    lot = StringField(_l("Lot number"), validators=[Optional(), Length(max=50)])
    date = DateField(_l("Date of vaccination"), validators=[DataRequired()])

    def data_payload(self) -> dict:
        return {"vaccine": self.vaccine.data, "lot": self.lot.data or "", "date": self.date.data.isoformat()}


class AllergyForm(_EntryForm):
    substance = StringField(_l("Substance"), validators=[DataRequired(), Length(max=200)])
    reaction = StringField(_l("Reaction"), validators=[Optional(), Length(max=500)])
    severity = SelectField(_l("Severity"), choices=[SelectChoice(code, label) for code, label in SEVERITIES.items()])
    status = SelectField(_l("Status"), choices=[SelectChoice(code, label) for code, label in ALLERGY_STATUSES.items()])

    def data_payload(self) -> dict:
        return {"substance": self.substance.data, "reaction": self.reaction.data or "",
                "severity": self.severity.data, "status": self.status.data}


class TreatmentForm(_EntryForm):
    drug = StringField(_l("Drug"), validators=[DataRequired(), Length(max=200)])
    dosage = StringField(_l("Dosage"), validators=[DataRequired(), Length(max=500)])
    start = DateField(_l("Start date"), validators=[DataRequired()])
    end = DateField(_l("End date"), validators=[Optional()], description=_l("Leave empty for an ongoing treatment."))

    def data_payload(self) -> dict:
        return {"drug": self.drug.data, "dosage": self.dosage.data, "start": self.start.data.isoformat(),
                "end": self.end.data.isoformat() if self.end.data else None}


FORMS_BY_KIND = {
    EntryKind.MEASUREMENT: MeasurementForm,
    EntryKind.VACCINATION: VaccinationForm,
    EntryKind.ALLERGY: AllergyForm,
    EntryKind.TREATMENT: TreatmentForm,
}


def entry_form_class(kind: EntryKind) -> type[_EntryForm]:
    return FORMS_BY_KIND.get(kind, TextEntryForm)


def prefilled_form(kind: EntryKind, entry) -> _EntryForm:
    """The form of a correction, filled with the entry being corrected."""
    form = entry_form_class(kind)(title=entry.title, body=entry.body)
    data = entry.data or {}
    if kind is EntryKind.MEASUREMENT:
        zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        form.measurement_type.data, form.unit.data = data["type"], data["unit"]
        if data["type"] == BLOOD_PRESSURE:
            form.systolic.data, form.diastolic.data = data["systolic"], data["diastolic"]
        else:
            form.value.data = data["value"]
        if data["type"] not in FORM_MEASUREMENT_TYPES:
            form.measurement_type.choices = [*form.measurement_type.choices,
                                             *_measurement_choices([data["type"]])]
        form.measured_at.data = dt.datetime.fromisoformat(data["measured_at"]).astimezone(zone).replace(tzinfo=None)
    elif kind is EntryKind.VACCINATION:
        form.vaccine.data, form.lot.data = data["vaccine"], data["lot"]
        form.date.data = dt.date.fromisoformat(data["date"])
    elif kind is EntryKind.ALLERGY:
        form.substance.data, form.reaction.data = data["substance"], data["reaction"]
        form.severity.data, form.status.data = data["severity"], data["status"]
    elif kind is EntryKind.TREATMENT:
        form.drug.data, form.dosage.data = data["drug"], data["dosage"]
        form.start.data = dt.date.fromisoformat(data["start"])
        form.end.data = dt.date.fromisoformat(data["end"]) if data["end"] else None
    return form


class AttachmentForm(FlaskForm):
    file = FileField(_l("File (PDF, PNG or JPEG)"), validators=[FileRequired()])


class ChoicesForm(FlaskForm):
    """Checkbox lists (sharing, masking) read from the request; this form carries the CSRF token."""


class EmergencyAccessForm(FlaskForm):
    """The person named as on their ID, the reason, and a fresh code (re-authentication)."""

    first_name = person_name_field(_l("Patient's first name"))
    last_name = person_name_field(_l("Patient's last name"))
    birth_date = birth_date_field(_l("Patient's birth date"))
    reason = TextAreaField(_l("Reason for the emergency access"),
                           validators=[DataRequired(), Length(min=REASON_MIN, max=REASON_MAX)],
                           description=_l("The patient will read this reason."))
    totp = totp_code_field()


class PatientSearchForm(FlaskForm):
    """The search box of the practitioner's patient list (a GET form: nothing to protect)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name"), validators=[Optional(), Length(max=100)])
    born = DateField(_l("Birth date"), validators=[Optional()])
