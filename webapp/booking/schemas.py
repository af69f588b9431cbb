"""Marshmallow schemas of the booking API (input and output kept apart)."""

import marshmallow as ma
from marshmallow import validate

from webapp.accounts.specialties import SPECIALTIES
from webapp.api.pagination import PaginationQuerySchema
from webapp.booking.models import VisitMode

_id = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))


class SearchQuerySchema(PaginationQuerySchema):
    specialty = ma.fields.String(validate=validate.OneOf(list(SPECIALTIES)))
    city = ma.fields.String(validate=validate.Length(max=100))
    postcode = ma.fields.String(validate=validate.Regexp(r"^\d{1,5}$"))
    q = ma.fields.String(validate=validate.Length(max=100), metadata={"description": "Words of the name."})


class PractitionerSummarySchema(ma.Schema):
    id = ma.fields.Integer()
    first_name = ma.fields.String()
    last_name = ma.fields.String()
    specialty = ma.fields.String()
    address = ma.fields.String()
    city = ma.fields.String()
    postcode = ma.fields.String()
    next_available = ma.fields.AwareDateTime(allow_none=True,
                                             metadata={"description": "First bookable start, or null."})


class VisitReasonSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    label = ma.fields.String()
    duration_minutes = ma.fields.Integer()
    price_cents = ma.fields.Integer()
    currency = ma.fields.String()
    new_patients = ma.fields.Boolean(metadata={"description": "New patients may book it."})
    returning_patients = ma.fields.Boolean(metadata={"description": "The practitioner's existing patients may book it."})
    mode = ma.fields.String()
    archived = ma.fields.Boolean(attribute="is_archived")


class PractitionerDetailSchema(PractitionerSummarySchema):
    timezone = ma.fields.String()
    bookable = ma.fields.Boolean(metadata={"description": "False while online booking is suspended."})
    visit_reasons = ma.fields.List(ma.fields.Nested(VisitReasonSchema))


class SlotsQuerySchema(ma.Schema):
    visit_reason_id = _id
    from_ = ma.fields.Date(required=True, data_key="from", metadata={"description": "Local date, included."})
    to = ma.fields.Date(required=True, metadata={"description": "Local date, included (at most 62 days)."})


class SlotSchema(ma.Schema):
    start = ma.fields.AwareDateTime()
    end = ma.fields.AwareDateTime()


class SlotsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SlotSchema), required=True)


class VisitReasonInputSchema(ma.Schema):
    label = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    duration_minutes = ma.fields.Integer(required=True, validate=validate.Range(min=5, max=480))
    price_cents = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=10_000_000))
    new_patients = ma.fields.Boolean(load_default=True)
    returning_patients = ma.fields.Boolean(load_default=True)
    mode = ma.fields.String(load_default=VisitMode.IN_PERSON.value, validate=validate.OneOf([m.value for m in VisitMode]))


class VisitReasonsSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(VisitReasonSchema), required=True)


class WeeklyRangeSchema(ma.Schema):
    weekday = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=6),
                                metadata={"description": "Monday 0 ... Sunday 6"})
    start = ma.fields.Time(required=True, format="%H:%M", metadata={"example": "09:00"})
    end = ma.fields.Time(required=True, format="%H:%M", metadata={"example": "12:00"})


def _known_timezone(name: str) -> None:
    from webapp.booking.services import known_timezones

    if name not in known_timezones():
        raise ma.ValidationError("Unknown timezone.")


class ScheduleSchema(ma.Schema):
    timezone = ma.fields.String(load_default="Europe/Paris", validate=_known_timezone)
    weekly = ma.fields.List(ma.fields.Nested(WeeklyRangeSchema), required=True, validate=validate.Length(max=100))
    min_notice_minutes = ma.fields.Integer(load_default=120, validate=validate.Range(min=0, max=30 * 24 * 60))
    horizon_days = ma.fields.Integer(load_default=90, validate=validate.Range(min=1, max=365))
    buffer_minutes = ma.fields.Integer(load_default=0, validate=validate.Range(min=0, max=240))
    cancellation_deadline_hours = ma.fields.Integer(load_default=24, validate=validate.Range(min=0, max=30 * 24))
    closed_on_public_holidays = ma.fields.Boolean(load_default=True)
    slot_step_minutes = ma.fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=5, max=480),
                                          metadata={"description": "Grid step; null follows each reason's duration."})


class AbsenceInputSchema(ma.Schema):
    start = ma.fields.AwareDateTime(required=True)
    end = ma.fields.AwareDateTime(required=True)
    reason = ma.fields.String(load_default="", validate=validate.Length(max=200))


class AbsenceSchema(ma.Schema):
    id = ma.fields.Integer()
    start = ma.fields.AwareDateTime(attribute="start_at")
    end = ma.fields.AwareDateTime(attribute="end_at")
    reason = ma.fields.String()


class AbsencesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AbsenceSchema), required=True)


class PatientSummarySchema(ma.Schema):
    id = ma.fields.Integer()
    first_name = ma.fields.String()
    last_name = ma.fields.String()
    birth_date = ma.fields.Date()


class PractitionerRefSchema(ma.Schema):
    id = ma.fields.Integer()
    first_name = ma.fields.String()
    last_name = ma.fields.String()
    specialty = ma.fields.String()
    address = ma.fields.String()
    postcode = ma.fields.String()
    city = ma.fields.String()


class AppointmentSchema(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String()
    start = ma.fields.AwareDateTime(attribute="start_at")
    end = ma.fields.AwareDateTime(attribute="end_at")
    message = ma.fields.String(allow_none=True)
    booked_at_desk = ma.fields.Boolean()
    cancel_reason = ma.fields.String(allow_none=True)
    cancelled_at = ma.fields.AwareDateTime(allow_none=True)
    practitioner = ma.fields.Nested(PractitionerRefSchema)
    patient = ma.fields.Nested(PatientSummarySchema)
    visit_reason = ma.fields.Nested(VisitReasonSchema)


class AppointmentCreateSchema(ma.Schema):
    practitioner_id = _id
    visit_reason_id = _id
    start = ma.fields.AwareDateTime(required=True, metadata={"example": "2026-12-03T09:30:00+01:00"})
    patient_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                   metadata={"description": "Defaults to the caller's own profile."})
    message = ma.fields.String(validate=validate.Length(max=1000))


class AppointmentsQuerySchema(PaginationQuerySchema):
    scope = ma.fields.String(load_default="upcoming", validate=validate.OneOf(["upcoming", "past"]))


class CancelSchema(ma.Schema):
    reason = ma.fields.String(validate=validate.Length(max=500))


class RescheduleSchema(ma.Schema):
    start = ma.fields.AwareDateTime(required=True)


class AgendaQuerySchema(ma.Schema):
    from_ = ma.fields.Date(required=True, data_key="from")
    to = ma.fields.Date(required=True)


class AgendaSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AppointmentSchema), required=True)


class WaitlistInputSchema(ma.Schema):
    practitioner_id = _id
    visit_reason_id = _id
    before = ma.fields.AwareDateTime(required=True, metadata={"description": "The patient wants a slot before this."})
    patient_id = ma.fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class WaitlistEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String()
    practitioner_id = ma.fields.Integer()
    patient_id = ma.fields.Integer()
    visit_reason_id = ma.fields.Integer()
    before = ma.fields.AwareDateTime(attribute="before_at")
    offered_start = ma.fields.AwareDateTime(attribute="offered_start_at", allow_none=True)


class WaitlistEntriesSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(WaitlistEntrySchema), required=True)


class CalendarFeedSchema(ma.Schema):
    url = ma.fields.String(required=True)
