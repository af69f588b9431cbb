"""Marshmallow schemas of the booking API (input and output kept apart)."""

import marshmallow as ma
from marshmallow import validate

from webapp.accounts.identity_rules import BirthDate, PersonName
from webapp.accounts.specialties import SPECIALTIES
from webapp.api.fields import JsonBoolean
from webapp.api.pagination import PaginationQuerySchema
from webapp.booking.models import AppointmentStatus, VisitMode
from webapp.booking.rules import CELL_MINUTES, MAX_VISIT_MINUTES, SCHEDULE_DEFAULTS, SCHEDULE_LIMITS

MAX_ID = 2**31 - 1


def _id(example: int, **kwargs) -> ma.fields.Integer:
    return ma.fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID), metadata={"example": example},
                             **kwargs)


# PostgreSQL refuses text holding a NUL character; no name or city has one.
SEARCH_TEXT = [validate.Length(max=100), validate.Regexp(r"^[^\x00]*$", error="Not a valid text.")]


class SearchQuerySchema(PaginationQuerySchema):
    specialty = ma.fields.String(validate=validate.OneOf(list(SPECIALTIES)),
                                 metadata={"description": "A code of GET /specialties.",
                                           "example": "general_practitioner"})
    city = ma.fields.String(validate=SEARCH_TEXT, metadata={"example": "Paris"})
    postcode = ma.fields.String(validate=validate.Regexp(r"^\d{1,5}$"),
                                metadata={"description": "The first digits of the postcode.", "example": "75011"})
    q = ma.fields.String(validate=SEARCH_TEXT, metadata={
        "description": "What a patient types in the search box: words of the name, specialty terms (accents, "
                       "case and everyday abbreviations such as \"dermato\", \"kiné\", \"généraliste\" "
                       "understood), a city or the first digits of a postcode.", "example": "dermato lyon"})
    sort = ma.fields.String(load_default="name", validate=validate.OneOf(["name", "next_available"]),
                            metadata={"description": "`name` (the default), or `next_available`: soonest "
                                                     "available first.", "example": "next_available"})


class PractitionerSummarySchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 7})
    first_name = ma.fields.String(metadata={"example": "Claire"})
    last_name = ma.fields.String(metadata={"example": "Martin"})
    specialty = ma.fields.String(metadata={"example": "general_practitioner"})
    address = ma.fields.String(metadata={"example": "12 rue de la Roquette"})
    city = ma.fields.String(metadata={"example": "Paris"})
    postcode = ma.fields.String(metadata={"example": "75011"})
    next_available = ma.fields.AwareDateTime(allow_none=True, metadata={
        "description": "First bookable start, or null.", "example": "2026-12-03T09:30:00+01:00"})


class VisitReasonSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True, metadata={"example": 12})
    label = ma.fields.String(metadata={"example": "Consultation de suivi"})
    duration_minutes = ma.fields.Integer(metadata={"example": 20})
    price_cents = ma.fields.Integer(metadata={"example": 3000})
    currency = ma.fields.String(metadata={"example": "EUR"})
    new_patients = ma.fields.Boolean(metadata={"description": "New patients may book it.", "example": True})
    returning_patients = ma.fields.Boolean(metadata={
        "description": "The practitioner's existing patients may book it.", "example": True})
    mode = ma.fields.String(metadata={"enum": [m.value for m in VisitMode], "example": VisitMode.IN_PERSON.value})
    archived = ma.fields.Boolean(attribute="is_archived", metadata={"example": False})


class OwnVisitReasonSchema(VisitReasonSchema):
    """A visit reason as its practitioner sees it."""

    shown_in_messages = ma.fields.Boolean(metadata={
        "description": "The label appears in the patients' mails, SMS and calendar files; otherwise they read "
                       "a neutral \u201cRendez-vous avec\u201d and the practitioner's name.", "example": False})


class PractitionerDetailSchema(PractitionerSummarySchema):
    timezone = ma.fields.String(metadata={"example": "Europe/Paris"})
    bookable = ma.fields.Boolean(metadata={"description": "False while online booking is suspended.", "example": True})
    visit_reasons = ma.fields.List(ma.fields.Nested(VisitReasonSchema))


class SlotsQuerySchema(ma.Schema):
    visit_reason_id = _id(12)
    from_ = ma.fields.Date(required=True, data_key="from",
                           metadata={"description": "Local date, included.", "example": "2026-12-01"})
    to = ma.fields.Date(required=True, metadata={"description": "Local date, included (at most 62 days).",
                                                 "example": "2026-12-14"})


class SlotSchema(ma.Schema):
    start = ma.fields.AwareDateTime(metadata={"example": "2026-12-03T09:30:00+01:00"})
    end = ma.fields.AwareDateTime(metadata={"example": "2026-12-03T09:50:00+01:00"})


class SlotsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SlotSchema), required=True)


class VisitReasonInputSchema(ma.Schema):
    label = ma.fields.String(required=True, validate=validate.Length(min=1, max=120),
                             metadata={"example": "Consultation de suivi"})
    duration_minutes = ma.fields.Integer(strict=True, required=True,
                                         validate=validate.Range(min=CELL_MINUTES, max=MAX_VISIT_MINUTES),
                                         metadata={"example": 20})
    price_cents = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=10_000_000),
                                    metadata={"example": 3000})
    new_patients = JsonBoolean(load_default=True, metadata={"example": True})
    returning_patients = JsonBoolean(load_default=True, metadata={"example": True})
    mode = ma.fields.String(load_default=VisitMode.IN_PERSON.value,
                            validate=validate.OneOf([m.value for m in VisitMode]),
                            metadata={"example": VisitMode.IN_PERSON.value})
    shown_in_messages = JsonBoolean(load_default=False, metadata={
        "description": "Show the label in the patients' mails, SMS and calendar files (default: a neutral label, "
                       "since a reason can reveal health).", "example": False})


class VisitReasonUpdateSchema(VisitReasonInputSchema):
    """A change of a visit reason: any of its fields, the others kept."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class VisitReasonsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(OwnVisitReasonSchema), required=True)


class WeeklyRangeSchema(ma.Schema):
    weekday = ma.fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=6),
                                metadata={"description": "Monday 0 ... Sunday 6", "example": 0})
    start = ma.fields.Time(required=True, format="%H:%M", metadata={"example": "09:00"})
    end = ma.fields.Time(required=True, format="%H:%M", metadata={"example": "12:00"})


def _known_timezone(name: str) -> None:
    from webapp.booking.settings import known_timezones

    if name not in known_timezones():
        raise ma.ValidationError("Unknown timezone.")


def _schedule_rule(name: str, *, example: int) -> ma.fields.Integer:
    """A numeric booking rule: its default and bounds from webapp.booking.rules."""
    low, high = SCHEDULE_LIMITS[name]
    return ma.fields.Integer(strict=True, load_default=SCHEDULE_DEFAULTS[name],
                             validate=validate.Range(min=low, max=high), metadata={"example": example})


class ScheduleSchema(ma.Schema):
    timezone = ma.fields.String(load_default=SCHEDULE_DEFAULTS["timezone"], validate=_known_timezone,
                                metadata={"description": "An IANA timezone name.", "example": "Europe/Paris"})
    weekly = ma.fields.List(ma.fields.Nested(WeeklyRangeSchema), required=True, validate=validate.Length(max=100))
    min_notice_minutes = _schedule_rule("min_notice_minutes", example=120)
    horizon_days = _schedule_rule("horizon_days", example=90)
    buffer_minutes = _schedule_rule("buffer_minutes", example=5)
    cancellation_deadline_hours = _schedule_rule("cancellation_deadline_hours", example=24)
    closed_on_public_holidays = JsonBoolean(load_default=SCHEDULE_DEFAULTS["closed_on_public_holidays"],
                                            metadata={"example": True})
    slot_step_minutes = ma.fields.Integer(strict=True, load_default=None, allow_none=True,
                                          validate=validate.Range(min=CELL_MINUTES, max=MAX_VISIT_MINUTES),
                                          metadata={"description": "Grid step; null follows each reason's duration.",
                                                    "example": None})


class AbsenceInputSchema(ma.Schema):
    start = ma.fields.AwareDateTime(required=True, metadata={"example": "2026-12-21T08:00:00+01:00"})
    end = ma.fields.AwareDateTime(required=True, metadata={"example": "2026-12-24T19:00:00+01:00"})
    reason = ma.fields.String(load_default="", validate=validate.Length(max=200), metadata={"example": "Congés"})


class AbsenceSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 4})
    start = ma.fields.AwareDateTime(attribute="start_at", metadata={"example": "2026-12-21T08:00:00+01:00"})
    end = ma.fields.AwareDateTime(attribute="end_at", metadata={"example": "2026-12-24T19:00:00+01:00"})
    reason = ma.fields.String(metadata={"example": "Congés"})


class AbsencesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AbsenceSchema), required=True)


class PatientSummarySchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 40})
    first_name = ma.fields.String(metadata={"example": "Marie"})
    last_name = ma.fields.String(metadata={"example": "Lambert"})
    birth_date = ma.fields.Date(metadata={"example": "1985-04-12"})


class PractitionerRefSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 7})
    first_name = ma.fields.String(metadata={"example": "Claire"})
    last_name = ma.fields.String(metadata={"example": "Martin"})
    specialty = ma.fields.String(metadata={"example": "general_practitioner"})
    address = ma.fields.String(metadata={"example": "12 rue de la Roquette"})
    postcode = ma.fields.String(metadata={"example": "75011"})
    city = ma.fields.String(metadata={"example": "Paris"})


class AppointmentSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 311})
    status = ma.fields.String(metadata={"enum": [s.value for s in AppointmentStatus], "example": "booked"})
    start = ma.fields.AwareDateTime(attribute="start_at", metadata={"example": "2026-12-03T09:30:00+01:00"})
    end = ma.fields.AwareDateTime(attribute="end_at", metadata={"example": "2026-12-03T09:50:00+01:00"})
    message = ma.fields.String(allow_none=True, metadata={"example": "Renouvellement d'ordonnance"})
    booked_at_desk = ma.fields.Boolean(metadata={"example": False})
    walk_in = ma.fields.Boolean(attribute="is_walk_in", metadata={"example": False})
    arrived_at = ma.fields.AwareDateTime(allow_none=True, metadata={
        "description": "When the desk marked the patient arrived: the visit has begun.", "example": None})
    share_notebook_ahead = ma.fields.Boolean(attribute="shares_notebook_ahead", metadata={
        "description": "The patient let the practitioner read the notebook before the visit.", "example": False})
    cancel_reason = ma.fields.String(allow_none=True, metadata={"example": None})
    cancelled_at = ma.fields.AwareDateTime(allow_none=True, metadata={"example": None})
    practitioner = ma.fields.Nested(PractitionerRefSchema)
    patient = ma.fields.Nested(PatientSummarySchema)
    visit_reason = ma.fields.Nested(VisitReasonSchema)


class DeskPatientIdentitySchema(ma.Schema):
    first_name = PersonName(required=True, metadata={"example": "Léa"})
    last_name = PersonName(required=True, metadata={"example": "Martin-Durand"})
    birth_date = BirthDate(required=True, metadata={"example": "1984-05-17"})


class AppointmentCreateSchema(ma.Schema):
    practitioner_id = _id(7, strict=True)
    visit_reason_id = _id(12, strict=True)
    start = ma.fields.AwareDateTime(metadata={
        "description": "Required, except for a walk-in (which starts now).", "example": "2026-12-03T09:30:00+01:00"})
    patient_id = ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), metadata={
        "description": "Defaults to the caller's own profile. At the desk: a patient known to the practice "
                       "(created at its desk or seen in its agendas); anyone else is 404.",
        "example": 41})
    patient = ma.fields.Nested(DeskPatientIdentitySchema, metadata={
        "description": "At the desk, for a patient the practice has not seen: the full identity, matching exactly "
                       "one profile (case, accents and hyphens ignored), else 404 `patient_not_found`. The slot "
                       "is checked first. Failed identifications are counted per account: 429 "
                       "`identification_attempts_exceeded` past the limit."})
    message = ma.fields.String(validate=validate.Length(max=1000),
                               metadata={"example": "Renouvellement d'ordonnance"})
    share_notebook_ahead = JsonBoolean(load_default=False, metadata={
        "description": "Patient side only: the practitioner may read the notebook from the booking on, rather "
                       "than from the start of the visit.", "example": False})
    walk_in = JsonBoolean(load_default=False, metadata={
        "description": "At the desk: a visit without appointment that starts now (any hour), the patient "
                       "already arrived; without `start`.", "example": False})

    @ma.validates_schema
    def _start_or_walk_in(self, data, **kwargs):
        if data.get("walk_in") and "start" in data:
            raise ma.ValidationError("A walk-in starts now: leave out the start.", "start")
        if not data.get("walk_in") and "start" not in data:
            raise ma.ValidationError("Missing data for required field.", "start")
        if "patient_id" in data and "patient" in data:
            raise ma.ValidationError("Give the patient's id or their identity, not both.", "patient")


class AppointmentsQuerySchema(PaginationQuerySchema):
    scope = ma.fields.String(load_default="upcoming", validate=validate.OneOf(["upcoming", "past"]),
                             metadata={"example": "upcoming"})


class CancelSchema(ma.Schema):
    reason = ma.fields.String(validate=validate.Length(max=500), metadata={
        "description": "Required when the practitioner or staff cancels.",
        "example": "Empêchement de dernière minute"})


class RescheduleSchema(ma.Schema):
    start = ma.fields.AwareDateTime(required=True, metadata={"example": "2026-12-04T14:00:00+01:00"})


class AgendaQuerySchema(ma.Schema):
    from_ = ma.fields.Date(required=True, data_key="from", metadata={"example": "2026-12-01"})
    to = ma.fields.Date(required=True, metadata={"example": "2026-12-07"})


class AgendaSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AppointmentSchema), required=True)


class WaitlistInputSchema(ma.Schema):
    practitioner_id = _id(7, strict=True)
    visit_reason_id = _id(12, strict=True)
    before = ma.fields.AwareDateTime(required=True, metadata={
        "description": "The patient wants a slot before this.", "example": "2026-12-10T00:00:00+01:00"})
    patient_id = ma.fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), metadata={"example": 41})


class WaitlistEntrySchema(ma.Schema):
    id = ma.fields.Integer(metadata={"example": 5})
    status = ma.fields.String(metadata={"example": "waiting"})
    practitioner_id = ma.fields.Integer(metadata={"example": 7})
    patient_id = ma.fields.Integer(metadata={"example": 41})
    visit_reason_id = ma.fields.Integer(metadata={"example": 12})
    before = ma.fields.AwareDateTime(attribute="before_at", metadata={"example": "2026-12-10T00:00:00+01:00"})
    offered_start = ma.fields.AwareDateTime(attribute="offered_start_at", allow_none=True, metadata={"example": None})


class WaitlistEntriesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(WaitlistEntrySchema), required=True)


class CalendarFeedSchema(ma.Schema):
    url = ma.fields.String(required=True, metadata={
        "example": "https://carnet.example.com/calendar/feed/q8Zt3nWc0Yk5mA2rB7xJ.ics"})
