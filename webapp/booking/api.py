"""Booking API: directory and slots, the practitioner's settings, appointments, waiting list."""

from flask import Response, jsonify
from flask.views import MethodView

from webapp.accounts.models import Role
from webapp.api.answers import answer
from webapp.api.auth import bearer_required, current_api_user, documented_errors, public_endpoint
from webapp.api.blueprint import Blueprint, shared_schema
from webapp.api.idempotency import idempotent
from webapp.api.pagination import page_schema
from webapp.billing.bookability import is_bookable
from webapp.booking import (
    agendas,
    appointments,
    availability,
    calendar_feed,
    desk,
    ics,
    schemas,
    search,
    settings,
    waitlist,
)
from webapp.booking.rules import BOOKING_RATE_LIMIT
from webapp.extensions import limiter
from webapp.paging import paginate
from webapp.transaction import transaction

blp = Blueprint("booking_api", __name__, url_prefix="/api/v1",
                description="Directory, slots, settings and appointments")

CALENDAR_MIMETYPE = "text/calendar"


# --- Directory and slots ----------------------------------------------------------

@blp.route("/practitioners")
@public_endpoint
@blp.arguments(schemas.SearchQuerySchema, location="query")
@blp.response(200, page_schema(schemas.PractitionerSummarySchema, "PractitionerPage"))
@documented_errors(422)
def search_practitioners(query):
    """Practitioners bookable online, by specialty, city, postcode and name, each
    with its next available start; in name order, or soonest available first."""
    statement = search.search_practitioners(
        specialty=query.get("specialty"), city=query.get("city"), postcode=query.get("postcode"), text=query.get("q"))
    # The next free start is computed, not stored: ordering by it is done by
    # the search module in a few queries, not by the SQL of the other sorts.
    if query["sort"] == "next_available":
        page = search.search_page_by_next_available(statement, page=query["page"], per_page=query["per_page"])
        next_available = page.pop("next_available")
    else:
        page = paginate(statement, page=query["page"], per_page=query["per_page"])
        next_available = availability.next_available_starts([practitioner.id for practitioner in page["items"]])
    page["items"] = [_summary(practitioner, next_available[practitioner.id]) for practitioner in page["items"]]
    return page


def _summary(practitioner, next_start) -> dict:
    # `next_available` is no attribute of the profile: added beside the dump.
    data = shared_schema(schemas.PractitionerSummarySchema).dump(practitioner)
    data["next_available"] = next_start
    return data


@blp.route("/practitioners/<int:practitioner_id>")
@public_endpoint
@blp.response(200, schemas.PractitionerDetailSchema)
@documented_errors(404)
def practitioner_detail(practitioner_id):
    """A practitioner's public profile with the active visit reasons."""
    practitioner = agendas.listed_practitioner(practitioner_id)
    data = shared_schema(schemas.PractitionerSummarySchema).dump(practitioner)
    return data | {
        "next_available": availability.next_available_starts([practitioner.id])[practitioner.id],
        "timezone": settings.schedule_of(practitioner.id).timezone,
        "bookable": is_bookable(practitioner.id),
        "visit_reasons": settings.visit_reasons_of(practitioner.id),
    }


@blp.route("/practitioners/<int:practitioner_id>/slots")
@public_endpoint
@blp.arguments(schemas.SlotsQuerySchema, location="query")
@blp.response(200, schemas.SlotsSchema)
@documented_errors(404, 422)
def practitioner_slots(query, practitioner_id):
    """Free slots for a visit reason between two local dates (both included, at
    most 62 days), in the practitioner's timezone, sorted."""
    times = availability.available_local_times(practitioner_id, query["visit_reason_id"], query["from_"], query["to"])
    # Up to a few thousand slots: written directly in SlotsSchema's ISO 8601 form
    # rather than dumped field by field.
    return jsonify(items=[{"start": start.isoformat(), "end": end.isoformat()} for start, end in times])


# --- The practitioner's own settings ----------------------------------------------------

@blp.route("/practitioners/me/visit-reasons", endpoint="visit_reasons")
class VisitReasonsView(MethodView):
    @bearer_required(Role.PRACTITIONER)
    @blp.response(200, schemas.VisitReasonsSchema)
    def get(self):
        """Every visit reason of the caller, archived ones last."""
        practitioner = agendas.own_practitioner(current_api_user())
        return {"items": settings.visit_reasons_of(practitioner.id, include_archived=True)}

    @bearer_required(Role.PRACTITIONER)
    @blp.arguments(schemas.VisitReasonInputSchema)
    @blp.response(201, schemas.OwnVisitReasonSchema)
    @documented_errors(422)
    def post(self, data):
        """Offer a new visit reason."""
        with transaction():
            result = settings.create_visit_reason(current_api_user(), **data)
            return answer(schemas.OwnVisitReasonSchema, result, 201)


@blp.route("/practitioners/me/visit-reasons/<int:reason_id>", endpoint="visit_reason")
class VisitReasonView(MethodView):
    @bearer_required(Role.PRACTITIONER)
    @blp.arguments(schemas.VisitReasonUpdateSchema)
    @blp.response(200, schemas.OwnVisitReasonSchema)
    @documented_errors(404, 422)
    def patch(self, data, reason_id):
        """Change a visit reason."""
        with transaction():
            result = settings.update_visit_reason(current_api_user(), reason_id, **data)
            return answer(schemas.OwnVisitReasonSchema, result)

    @bearer_required(Role.PRACTITIONER)
    @blp.response(200, schemas.OwnVisitReasonSchema)
    @documented_errors(404)
    def delete(self, reason_id):
        """Archive a visit reason (booked appointments keep it)."""
        with transaction():
            result = settings.archive_visit_reason(current_api_user(), reason_id)
            return answer(schemas.OwnVisitReasonSchema, result)


def _schedule_body(practitioner_id: int) -> dict:
    schedule = settings.schedule_of(practitioner_id)
    return {
        "timezone": schedule.timezone, "min_notice_minutes": schedule.min_notice_minutes,
        "horizon_days": schedule.horizon_days, "buffer_minutes": schedule.buffer_minutes,
        "cancellation_deadline_hours": schedule.cancellation_deadline_hours,
        "closed_on_public_holidays": schedule.closed_on_public_holidays,
        "slot_step_minutes": schedule.slot_step_minutes,
        "weekly": [{"weekday": row.weekday, "start": row.start_time, "end": row.end_time}
                   for row in settings.weekly_hours_of(practitioner_id)],
    }


@blp.route("/practitioners/me/schedule", endpoint="schedule")
class ScheduleView(MethodView):
    @bearer_required(Role.PRACTITIONER)
    @blp.response(200, schemas.ScheduleSchema)
    def get(self):
        """The caller's booking rules and weekly opening hours."""
        return _schedule_body(agendas.own_practitioner(current_api_user()).id)

    @bearer_required(Role.PRACTITIONER)
    @blp.arguments(schemas.ScheduleSchema)
    @blp.response(200, schemas.ScheduleSchema)
    @documented_errors(422)
    def put(self, data):
        """Replace the booking rules and weekly hours (several ranges a day
        make breaks; overlapping ranges are refused)."""
        with transaction():
            schedule = settings.update_schedule(current_api_user(), **data)
            return answer(schemas.ScheduleSchema, _schedule_body(schedule.practitioner_id))


@blp.route("/practitioners/me/absences", endpoint="absences")
class AbsencesView(MethodView):
    @bearer_required(Role.PRACTITIONER)
    @blp.response(200, schemas.AbsencesSchema)
    def get(self):
        """The caller's current and future absences."""
        return {"items": settings.upcoming_absences(agendas.own_practitioner(current_api_user()).id)}

    @bearer_required(Role.PRACTITIONER)
    @blp.arguments(schemas.AbsenceInputSchema)
    @blp.response(201, schemas.AbsenceSchema)
    @documented_errors(422)
    def post(self, data):
        """Add an absence: no slot is offered during it."""
        with transaction():
            result = settings.add_absence(current_api_user(), start_at=data["start"], end_at=data["end"],
                                          reason=data["reason"])
            return answer(schemas.AbsenceSchema, result, 201)


@blp.route("/practitioners/me/absences/<int:absence_id>", methods=["DELETE"])
@bearer_required(Role.PRACTITIONER)
@blp.response(204)
@documented_errors(404)
def delete_absence(absence_id):
    """Remove an absence."""
    with transaction():
        settings.delete_absence(current_api_user(), absence_id)


@blp.route("/practitioners/me/agenda")
@bearer_required(Role.PRACTITIONER)
@blp.arguments(schemas.AgendaQuerySchema, location="query")
@blp.response(200, schemas.AgendaSchema)
@documented_errors(422)
def my_agenda(query):
    """The caller's appointments (every status) between two local dates, with patients."""
    practitioner = agendas.own_practitioner(current_api_user())
    return {"items": appointments.agenda(current_api_user(), practitioner.id, query["from_"], query["to"])}


@blp.route("/practitioners/<int:practitioner_id>/agenda")
@bearer_required(Role.PRACTITIONER, Role.STAFF)
@blp.arguments(schemas.AgendaQuerySchema, location="query")
@blp.response(200, schemas.AgendaSchema)
@documented_errors(404, 422)
def practitioner_agenda(query, practitioner_id):
    """An agenda the caller manages (clinic staff: their practitioners')."""
    return {"items": appointments.agenda(current_api_user(), practitioner_id, query["from_"], query["to"])}


@blp.route("/practitioners/me/calendar-feed", methods=["POST"])
@bearer_required(Role.PRACTITIONER)
@blp.response(200, schemas.CalendarFeedSchema)
def rotate_calendar_feed():
    """A secret `text/calendar` URL of the agenda; posting again replaces it
    (the previous URL stops working)."""
    with transaction():
        token = calendar_feed.rotate_calendar_feed(current_api_user())
        return answer(schemas.CalendarFeedSchema, {"url": ics.feed_url(token)})


# --- Appointments -----------------------------------------------------------------------

@blp.route("/appointments", endpoint="appointments")
class AppointmentsView(MethodView):
    @bearer_required(Role.PATIENT, Role.PRACTITIONER, Role.STAFF)
    @blp.arguments(schemas.AppointmentsQuerySchema, location="query")
    @blp.response(200, page_schema(schemas.AppointmentSchema, "AppointmentPage"))
    def get(self, query):
        """The caller's and their relatives' appointments (patients), or those of
        the agendas they manage (practitioners, staff)."""
        statement = appointments.appointments_of(current_api_user(), query["scope"])
        return paginate(statement, page=query["page"], per_page=query["per_page"])

    @bearer_required(Role.PATIENT, Role.PRACTITIONER, Role.STAFF)
    @idempotent
    @limiter.limit(BOOKING_RATE_LIMIT)
    @blp.arguments(schemas.AppointmentCreateSchema)
    @blp.response(201, schemas.AppointmentSchema)
    @documented_errors(403, 404, 409, 422, 429)
    def post(self, data):
        """Book a free slot, for oneself or a relative (`share_notebook_ahead`
        opens the notebook to the practitioner from now on), or at the desk
        (practitioner, clinic secretary): for a patient known to the practice
        (`patient_id`) or anyone else by full identity (`patient`). The slot is
        checked first: 409 `slot_unavailable` when it is not free now, whoever
        is named; then 404 `patient_not_found` for an identity that matches no
        one (counted: 429 past the limit). `walk_in: true` records a visit that
        starts now, the patient already arrived."""
        with transaction():
            return answer(schemas.AppointmentSchema, _book_or_walk_in(data, current_api_user()), 201)


def _book_or_walk_in(data: dict, by):
    """The appointment that POST /appointments asks for: a walk-in starting now, or a booked slot."""
    identity = _patient_identity(data.get("patient"))
    common = dict(practitioner_id=data["practitioner_id"], visit_reason_id=data["visit_reason_id"],
                  patient_id=data.get("patient_id"), patient_identity=identity, message=data.get("message"), by=by)
    if data["walk_in"]:
        return appointments.record_walk_in(**common)
    return appointments.book_appointment(start_at=data["start"], share_notebook_ahead=data["share_notebook_ahead"],
                                         **common)


def _patient_identity(named: dict | None) -> desk.PatientIdentity | None:
    if named is None:
        return None
    return desk.PatientIdentity.of(named["first_name"], named["last_name"], named["birth_date"])


@blp.route("/appointments/<int:appointment_id>")
@bearer_required()
@blp.response(200, schemas.AppointmentSchema)
@documented_errors(404)
def appointment_detail(appointment_id):
    """One appointment the caller may see."""
    return appointments.appointment_for(current_api_user(), appointment_id)


@blp.route("/appointments/<int:appointment_id>/ics")
@bearer_required()
@blp.response(200, content_type=CALENDAR_MIMETYPE)
@documented_errors(404)
def appointment_ics(appointment_id):
    """The appointment as an iCalendar file (`text/calendar`)."""
    appointment = appointments.appointment_for(current_api_user(), appointment_id)
    return Response(ics.appointment_calendar(appointment), mimetype=CALENDAR_MIMETYPE)


@blp.route("/appointments/<int:appointment_id>/cancel", methods=["POST"])
@bearer_required()
@blp.arguments(schemas.CancelSchema, required=False)
@blp.response(200, schemas.AppointmentSchema)
@documented_errors(404, 409, 422)
def cancel_appointment(data, appointment_id):
    """Cancel: the patient side before the deadline (409
    `cancellation_deadline_passed` after), the practitioner or staff any time
    with a reason."""
    with transaction():
        result = appointments.cancel_appointment(appointment_id, by=current_api_user(), reason=data.get("reason"))
        return answer(schemas.AppointmentSchema, result)


@blp.route("/appointments/<int:appointment_id>/reschedule", methods=["POST"])
@bearer_required()
@limiter.limit(BOOKING_RATE_LIMIT)
@blp.arguments(schemas.RescheduleSchema)
@blp.response(200, schemas.AppointmentSchema)
@documented_errors(404, 409, 422, 429)
def reschedule_appointment(data, appointment_id):
    """Move to another free slot; atomic (the old slot is freed only if the new one is taken)."""
    with transaction():
        result = appointments.reschedule_appointment(appointment_id, new_start_at=data["start"], by=current_api_user())
        return answer(schemas.AppointmentSchema, result)


@blp.route("/appointments/<int:appointment_id>/arrived", methods=["POST"])
@bearer_required()
@blp.response(200, schemas.AppointmentSchema)
@documented_errors(403, 404, 409)
def mark_arrived(appointment_id):
    """The patient is in the waiting room (the desk: the agenda's practitioner
    or a clinic secretary): the visit has begun for the notebook. From two
    hours before the start; marking it again changes nothing."""
    with transaction():
        result = appointments.mark_arrived(appointment_id, by=current_api_user())
        return answer(schemas.AppointmentSchema, result)


@blp.route("/appointments/<int:appointment_id>/no-show", methods=["POST"])
@bearer_required()
@blp.response(200, schemas.AppointmentSchema)
@documented_errors(403, 404, 409)
def mark_no_show(appointment_id):
    """The patient did not come (practitioner or clinic secretary, once it
    started, unless the patient was marked arrived)."""
    with transaction():
        result = appointments.mark_no_show(appointment_id, by=current_api_user())
        return answer(schemas.AppointmentSchema, result)


@blp.route("/appointments/<int:appointment_id>/complete", methods=["POST"])
@bearer_required()
@blp.response(200, schemas.AppointmentSchema)
@documented_errors(403, 404, 409)
def mark_completed(appointment_id):
    """The visit took place (practitioner or clinic staff, once it started)."""
    with transaction():
        result = appointments.mark_completed(appointment_id, by=current_api_user())
        return answer(schemas.AppointmentSchema, result)


# --- Waiting list -------------------------------------------------------------------------

@blp.route("/waitlist", endpoint="waitlist")
class WaitlistView(MethodView):
    @bearer_required(Role.PATIENT)
    @blp.response(200, schemas.WaitlistEntriesSchema)
    def get(self):
        """The caller's open waiting-list entries (own and relatives')."""
        return {"items": waitlist.waitlist_entries_of(current_api_user())}

    @bearer_required(Role.PATIENT)
    @blp.arguments(schemas.WaitlistInputSchema)
    @blp.response(201, schemas.WaitlistEntrySchema)
    @documented_errors(404, 409, 422)
    def post(self, data):
        """Ask for a slot earlier than `before`; a cancellation offers it."""
        with transaction():
            result = waitlist.join_waitlist(
                practitioner_id=data["practitioner_id"], visit_reason_id=data["visit_reason_id"],
                before_at=data["before"], patient_id=data.get("patient_id"), by=current_api_user(),
            )
            return answer(schemas.WaitlistEntrySchema, result, 201)

