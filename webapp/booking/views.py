"""Booking pages: search, practitioner page, booking flow, my appointments, agenda, desk, settings."""

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import Response, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import format_currency, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from webapp.accounts.models import PatientProfile, Role
from webapp.accounts.services import list_relatives
from webapp.accounts.specialties import SPECIALTIES
from webapp.billing.services import is_bookable
from webapp.booking import bp, forms, ics, next_slots, services
from webapp.booking.appointment_actions import appointment_actions
from webapp.booking.cancellation_window import window_opens_for
from webapp.booking.errors import SlotUnavailable, TooManyIdentificationFailures
from webapp.booking.models import AppointmentStatus, VisitMode
from webapp.db import now_utc
from webapp.errors import CarnetError, Forbidden
from webapp.extensions import db, limiter
from webapp.navigation import register_nav
from webapp.paging import paginate
from webapp.transaction import transaction
from webapp.web import show_errors

BOOKING_RATE_LIMIT = "30 per minute"
SEARCH_PAGE_SIZE = 20
NEXT_SLOTS_SHOWN = 8
RESULT_SLOTS_SHOWN = 4  # slot buttons under each search result
COMPACT_SLOTS_SHOWN = 6  # the practitioner page's short list (phones)

register_nav("booking.search", _l("Find a practitioner"), {Role.PATIENT}, order=10)
register_nav("booking.my_appointments", _l("My appointments"), {Role.PATIENT}, order=20)
register_nav("booking.agenda", _l("Agenda"), {Role.PRACTITIONER, Role.STAFF}, order=10,
             when=services.works_at_a_desk)
register_nav("booking.desk_book", _l("Book for a patient"), {Role.PRACTITIONER, Role.STAFF}, order=15,
             when=services.works_at_a_desk)
register_nav("booking.settings", _l("Booking settings"), {Role.PRACTITIONER}, order=40)


# --- Helpers --------------------------------------------------------------------------

def _require_role(*roles: Role) -> None:
    if current_user.role not in roles:
        raise Forbidden()


def _timezone_of(practitioner_id: int) -> str:
    return services.schedule_of(practitioner_id).timezone


def _local_today(timezone: str) -> dt.date:
    return now_utc().astimezone(ZoneInfo(timezone)).date()


def _date_arg(name: str, default: dt.date | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return default


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _text_arg(name: str) -> str:
    """Text typed in a search box: at most 100 characters, without the NUL
    character that PostgreSQL refuses in text."""
    return request.args.get(name, "").replace("\x00", "")[:100]


def _parse_start(text: str | None) -> dt.datetime | None:
    """An ISO 8601 start with its offset; anything else is refused."""
    try:
        value = dt.datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return value if value.tzinfo is not None and value.utcoffset() is not None else None


def _monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _picker_week(timezone: str, first_free: dt.datetime | None = None) -> tuple[dt.date, list[dt.date], dt.date | None]:
    """The week asked for by `?week=` (never before the current one), else
    the week of `first_free`: its Monday, its days, and the previous week's
    Monday if it may be shown."""
    this_monday = _monday_of(_local_today(timezone))
    opening = _monday_of(first_free.astimezone(ZoneInfo(timezone)).date()) if first_free else this_monday
    monday = max(_monday_of(_date_arg("week", opening)), this_monday)
    previous = monday - dt.timedelta(days=7) if monday > this_monday else None
    return monday, [monday + dt.timedelta(days=offset) for offset in range(7)], previous


def _slots_by_day(slots, days: list[dt.date], timezone: str) -> list[tuple[dt.date, list]]:
    tz = ZoneInfo(timezone)
    grouped: dict[dt.date, list] = {day: [] for day in days}
    for slot in slots:
        grouped.setdefault(slot.start_at.astimezone(tz).date(), []).append(slot)
    return [(day, grouped[day]) for day in days]


def _patient_choices() -> list[SelectChoice]:
    """The patient profiles the user books for: their own first, then relatives."""
    choices = []
    if current_user.patient_profile is not None:
        choices.append(SelectChoice(current_user.patient_profile.id,
                                    _("Myself (%(name)s)", name=current_user.patient_profile.full_name)))
    choices += [SelectChoice(relative.id, relative.full_name) for relative in list_relatives(current_user)]
    return choices


# --- Search and practitioner page ---------------------------------------------------------

@bp.route("/search")
def search():
    specialty = request.args.get("specialty") if request.args.get("specialty") in SPECIALTIES else None
    place = _text_arg("place")
    text = _text_arg("q")
    page_number = min(_int_arg("page") or 1, 10_000)
    statement = services.search_practitioners(specialty=specialty, place=place, text=text)
    page = paginate(statement, page=page_number, per_page=SEARCH_PAGE_SIZE)
    ids = [practitioner.id for practitioner in page["items"]]
    reasons = next_slots.default_reasons(ids)
    return render_template(
        "booking/search.html", page=page, specialties=SPECIALTIES, specialty=specialty, place=place, q=text,
        reasons=reasons, next_slots=next_slots.next_free_slots(reasons, RESULT_SLOTS_SHOWN),
        schedules=services.schedules_of(ids), hold_form=forms.EmptyForm(),
    )


@bp.route("/practitioners/<int:practitioner_id>")
def practitioner_page(practitioner_id: int):
    practitioner = services.listed_practitioner(practitioner_id)
    reasons = services.visit_reasons_of(practitioner.id)
    chosen_id = _int_arg("reason")
    reason = next((r for r in reasons if r.id == chosen_id), None)
    if reason is None and reasons:
        reason = next_slots.default_reasons([practitioner.id]).get(practitioner.id)
    timezone = _timezone_of(practitioner.id)
    bookable = is_bookable(practitioner.id)
    soonest = next_slots.next_free_slots({practitioner.id: reason}, COMPACT_SLOTS_SHOWN)[practitioner.id] \
        if reason and bookable else []
    monday, days, previous_week = _picker_week(timezone, soonest[0].start_at if soonest else None)
    slots = services.available_slots(practitioner.id, reason.id, days[0], days[-1]) if reason and bookable else []
    horizon_end = _local_today(timezone) + dt.timedelta(days=services.schedule_of(practitioner.id).horizon_days)
    waitlist_form = None
    if reason and current_user.is_authenticated and current_user.role is Role.PATIENT:
        waitlist_form = forms.WaitlistForm(visit_reason_id=reason.id)
        waitlist_form.patient_id.choices = _patient_choices()
    return render_template(
        "booking/practitioner.html", practitioner=practitioner, reasons=reasons, reason=reason, timezone=timezone,
        week=_slots_by_day(slots, days, timezone), monday=monday, bookable=bookable, previous_week=previous_week,
        next_week=monday + dt.timedelta(days=7) if monday + dt.timedelta(days=7) <= horizon_end else None,
        waitlist_form=waitlist_form, specialties=SPECIALTIES, soonest=soonest, hold_form=forms.EmptyForm(),
        whole_week=request.args.get("view") == "week" or "week" in request.args,
    )


@bp.route("/practitioners/<int:practitioner_id>/waitlist", methods=["POST"])
@login_required
def join_waitlist(practitioner_id: int):
    _require_role(Role.PATIENT)
    form = forms.WaitlistForm()
    form.patient_id.choices = _patient_choices()
    if form.validate_on_submit():
        timezone = _timezone_of(practitioner_id)
        before = dt.datetime.combine(form.before.data, dt.time(), ZoneInfo(timezone))
        reason_id = int(form.visit_reason_id.data) if form.visit_reason_id.data.isdigit() else None
        try:
            with transaction():
                services.join_waitlist(practitioner_id=practitioner_id, visit_reason_id=reason_id, before_at=before,
                                       patient_id=form.patient_id.data, by=current_user)
        except CarnetError as error:
            flash(error.message + " " + " ".join(m for ms in error.fields.values() for m in ms), "error")
        else:
            flash(_("You are on the waiting list: we will tell you if an earlier slot frees up."), "success")
    else:
        flash(_("Choose a date for the waiting list."), "error")
    return redirect(url_for("booking.practitioner_page", practitioner_id=practitioner_id,
                            reason=form.visit_reason_id.data or None))


# --- Booking by a patient -------------------------------------------------------------------

@bp.route("/book/<int:practitioner_id>", methods=["GET", "POST"])
@login_required
@limiter.limit(BOOKING_RATE_LIMIT, methods=["POST"])
def book(practitioner_id: int):
    _require_role(Role.PATIENT)
    practitioner = services.listed_practitioner(practitioner_id)
    form = forms.BookForm()
    form.patient_id.choices = _patient_choices()
    if request.method == "GET":
        form.visit_reason_id.data = request.args.get("reason", "")
        form.start.data = request.args.get("start", "")
    start = _parse_start(form.start.data)
    reason_id = int(form.visit_reason_id.data) if (form.visit_reason_id.data or "").isdigit() else None
    try:
        reason = services.reason_for_booking(practitioner.id, reason_id)
    except CarnetError:
        reason = None
    if reason is None or start is None:
        flash(_("Choose a visit reason and a slot first."), "error")
        return redirect(url_for("booking.practitioner_page", practitioner_id=practitioner.id))
    timezone = _timezone_of(practitioner.id)
    next_slots = []
    if form.validate_on_submit():
        try:
            with transaction():
                appointment = services.book_appointment(
                    practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=start,
                    patient_id=form.patient_id.data, message=form.message.data,
                    share_notebook_ahead=form.share_notebook_ahead.data, by=current_user,
                )
        except SlotUnavailable as error:
            form.form_errors.append(error.message)
            day = start.astimezone(ZoneInfo(timezone)).date()
            next_slots = services.available_slots(practitioner.id, reason.id, day,
                                                  day + dt.timedelta(days=services.MAX_RANGE_DAYS - 1))
            next_slots = next_slots[:NEXT_SLOTS_SHOWN]
        except CarnetError as error:
            show_errors(form, error)
        else:
            flash(_("Your appointment is booked."), "success")
            return redirect(url_for("booking.my_appointment", appointment_id=appointment.id))
    return render_template("booking/book.html", form=form, practitioner=practitioner, reason=reason, start=start,
                           timezone=timezone, next_slots=next_slots)


# --- My appointments (patient side) ----------------------------------------------------------

@bp.route("/appointments")
@login_required
def my_appointments():
    if current_user.role in (Role.PRACTITIONER, Role.STAFF):
        return redirect(url_for("booking.agenda"))
    _require_role(Role.PATIENT)
    upcoming = list(db.session.scalars(services.appointments_of(current_user, "upcoming")))
    past = list(db.session.scalars(services.appointments_of(current_user, "past").limit(50)))
    waitlist = services.waitlist_entries_of(current_user)
    schedules = services.schedules_of({item.practitioner_id for item in [*upcoming, *past, *waitlist]})
    deadlines = {appointment.id: appointment.start_at - dt.timedelta(
        hours=schedules[appointment.practitioner_id].cancellation_deadline_hours) for appointment in upcoming}
    return render_template("booking/my_appointments.html", upcoming=upcoming, past=past, schedules=schedules,
                           deadlines=deadlines, waitlist=waitlist, now=now_utc(), leave_form=forms.EmptyForm())


@bp.route("/appointments/<int:appointment_id>")
@login_required
def my_appointment(appointment_id: int):
    appointment = services.appointment_for(current_user, appointment_id)
    if services.can_manage_agenda(current_user, appointment.practitioner):
        return redirect(url_for("booking.agenda_appointment", appointment_id=appointment.id))
    return render_template(
        "booking/appointment.html", appointment=appointment, timezone=_timezone_of(appointment.practitioner_id),
        deadline=services.patient_deadline_of(appointment), now=now_utc(), cancel_form=forms.CancelForm(),
    )


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["POST"])
@login_required
def cancel_my_appointment(appointment_id: int):
    services.appointment_for(current_user, appointment_id)  # 404 for anyone who may not see it
    form = forms.CancelForm()
    if form.validate_on_submit():
        try:
            with transaction():
                services.cancel_appointment(appointment_id, by=current_user, reason=form.reason.data)
        except CarnetError as error:
            flash(error.message, "error")
        else:
            flash(_("Your appointment is cancelled."), "success")
    return redirect(url_for("booking.my_appointment", appointment_id=appointment_id))


@bp.route("/appointments/<int:appointment_id>/reschedule", methods=["GET", "POST"])
@login_required
@limiter.limit(BOOKING_RATE_LIMIT, methods=["POST"])
def reschedule(appointment_id: int):
    appointment = services.appointment_for(current_user, appointment_id)
    timezone = _timezone_of(appointment.practitioner_id)
    form = forms.RescheduleForm()
    if form.validate_on_submit():
        new_start = _parse_start(form.start.data)
        try:
            if new_start is None:
                raise SlotUnavailable()
            with transaction():
                services.reschedule_appointment(appointment.id, new_start_at=new_start, by=current_user)
        except CarnetError as error:
            flash(error.message, "error")
        else:
            flash(_("Your appointment is moved."), "success")
            return redirect(url_for("booking.my_appointment", appointment_id=appointment.id))
        appointment = services.appointment_for(current_user, appointment_id)
    monday, days, previous_week = _picker_week(timezone)
    slots = services.available_slots(appointment.practitioner_id, appointment.visit_reason_id, days[0], days[-1])
    return render_template(
        "booking/reschedule.html", appointment=appointment, timezone=timezone, form=form,
        week=_slots_by_day(slots, days, timezone), monday=monday, previous_week=previous_week,
        next_week=monday + dt.timedelta(days=7), window_opens=window_opens_for(appointment.practitioner_id),
        window_hours=services.schedule_of(appointment.practitioner_id).cancellation_deadline_hours,
    )


@bp.route("/appointments/<int:appointment_id>.ics")
@login_required
def appointment_ics(appointment_id: int):
    appointment = services.appointment_for(current_user, appointment_id)
    return Response(ics.appointment_calendar(appointment), mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="carnet-appointment-{appointment.id}.ics"'})


@bp.route("/waitlist/<int:entry_id>/leave", methods=["POST"])
@login_required
def leave_waitlist(entry_id: int):
    if forms.EmptyForm().validate_on_submit():
        with transaction():
            services.leave_waitlist(current_user, entry_id)
        flash(_("You left the waiting list."), "success")
    return redirect(url_for("booking.my_appointments"))


# --- Agenda (practitioner and clinic staff) ----------------------------------------------------

def _managed_or_forbidden():
    """The agendas the user's desk runs and the one chosen by `?practitioner=`;
    403 for anyone without a desk (patients, accountants, the operator's staff)."""
    _require_role(Role.PRACTITIONER, Role.STAFF)
    practitioners = services.managed_practitioners(current_user)
    if not practitioners and current_user.role is Role.STAFF:
        raise Forbidden()
    chosen = _int_arg("practitioner")
    selected = next((p for p in practitioners if p.id == chosen), practitioners[0] if practitioners else None)
    return practitioners, selected


@bp.route("/agenda")
@login_required
def agenda():
    practitioners, selected = _managed_or_forbidden()
    if selected is None:
        return render_template("booking/agenda.html", practitioners=[], selected=None)
    timezone = _timezone_of(selected.id)
    today = _local_today(timezone)
    day = _date_arg("day", today)
    view = "week" if request.args.get("view") == "week" else "day"
    first = _monday_of(day) if view == "week" else day
    days = [first + dt.timedelta(days=offset) for offset in range(7 if view == "week" else 1)]
    appointments = services.agenda(current_user, selected.id, days[0], days[-1])
    tz = ZoneInfo(timezone)
    by_day = [(d, [a for a in appointments if a.start_at.astimezone(tz).date() == d]) for d in days]
    step = dt.timedelta(days=7 if view == "week" else 1)
    return render_template(
        "booking/agenda.html", practitioners=practitioners, selected=selected, timezone=timezone, view=view,
        day=day, today=today, by_day=by_day, previous_day=days[0] - step, next_day=days[0] + step,
        statuses=AppointmentStatus, now=now_utc(), arrival_earliest=services.ARRIVAL_EARLIEST,
        mark_form=forms.AgendaMarkForm(return_to="agenda"),
    )


@bp.route("/agenda/appointments/<int:appointment_id>")
@login_required
def agenda_appointment(appointment_id: int):
    _require_role(Role.PRACTITIONER, Role.STAFF)
    appointment = services.appointment_for(current_user, appointment_id)
    return render_template(
        "booking/agenda_appointment.html", appointment=appointment, timezone=_timezone_of(appointment.practitioner_id),
        now=now_utc(), cancel_form=forms.PractitionerCancelForm(), mark_form=forms.AgendaMarkForm(),
        statuses=AppointmentStatus, actions=appointment_actions(appointment, current_user),
        arrival_earliest=services.ARRIVAL_EARLIEST,
    )


AGENDA_MARKS = {
    "arrived": (services.mark_arrived, _l("The patient is marked arrived.")),
    "no-show": (services.mark_no_show, _l("Marked as missed.")),
    "complete": (services.mark_completed, _l("Marked as done.")),
}


@bp.route("/agenda/appointments/<int:appointment_id>/<any('arrived', 'no-show', 'complete', 'cancel'):action>",
          methods=["POST"])
@login_required
def agenda_action(appointment_id: int, action: str):
    _require_role(Role.PRACTITIONER, Role.STAFF)
    form = forms.PractitionerCancelForm() if action == "cancel" else forms.AgendaMarkForm()
    if not form.validate_on_submit():
        if action == "cancel":
            flash(_("Give the patient a reason for the cancellation."), "error")
        return redirect(url_for("booking.agenda_appointment", appointment_id=appointment_id))
    try:
        with transaction():
            if action == "cancel":
                appointment = services.cancel_appointment(appointment_id, by=current_user, reason=form.reason.data)
                message = _("The appointment is cancelled.")
            else:
                service, message = AGENDA_MARKS[action]
                appointment = service(appointment_id, by=current_user)
    except CarnetError as error:
        flash(error.message, "error")
    else:
        flash(str(message), "success")
        if action != "cancel" and form.return_to.data == "agenda":
            return redirect(url_for("booking.agenda", practitioner=appointment.practitioner_id, day=_local_day_of(
                appointment)))
    return redirect(url_for("booking.agenda_appointment", appointment_id=appointment_id))


def _local_day_of(appointment) -> str:
    return appointment.start_at.astimezone(ZoneInfo(_timezone_of(appointment.practitioner_id))).date().isoformat()


# --- Desk booking -------------------------------------------------------------------------------

IDENTIFIED_PATIENTS_KEY = "desk_identified_patients"
IDENTIFIED_PATIENTS_KEPT = 20


def _remember_identified(patients: list[PatientProfile], text: str, birth_date: dt.date) -> None:
    """Keep, for this session, the identity the desk typed (full name and
    birth date) for the patients it found by it, so it can go on booking for
    them: the services check that identity again at each step."""
    identified = session.get(IDENTIFIED_PATIENTS_KEY, {})
    identified.update({str(p.id): [text, birth_date.isoformat()] for p in patients if p.birth_date == birth_date})
    session[IDENTIFIED_PATIENTS_KEY] = dict(list(identified.items())[-IDENTIFIED_PATIENTS_KEPT:])


def _identity_for(patient_id: int) -> services.PatientIdentity | None:
    typed = session.get(IDENTIFIED_PATIENTS_KEY, {}).get(str(patient_id))
    try:
        text, birth_date = typed
        return services.PatientIdentity(str(text), dt.date.fromisoformat(birth_date))
    except (TypeError, ValueError):
        return None


def _desk_search(query: str, born: dt.date | None) -> list[PatientProfile]:
    """The desk's patient search; one with a birth date that finds no one is a
    failed identification, committed, and refused past the limit."""
    try:
        with transaction():
            matches = services.find_patients(current_user, query, birth_date=born)
    except TooManyIdentificationFailures as error:
        flash(error.message, "error")
        return []
    if born:
        _remember_identified(matches, query, born)
    return matches


def _desk_chosen_patient(patient_id: int | None) -> PatientProfile | None:
    if not patient_id:
        return None
    with transaction():
        return services.desk_patient(current_user, patient_id, identity=_identity_for(patient_id))


@bp.route("/agenda/book", methods=["GET", "POST"])
@login_required
@limiter.limit(BOOKING_RATE_LIMIT, methods=["POST"])
def desk_book():
    """Book at the desk, or with `walk_in=1` record a patient seen without appointment."""
    practitioners, selected = _managed_or_forbidden()
    walk_in = request.args.get("walk_in") == "1"
    if selected is None:
        return render_template("booking/desk_book.html", practitioners=[], selected=None, walk_in=walk_in)
    form = forms.DeskBookForm()
    timezone = _timezone_of(selected.id)
    if form.validate_on_submit():
        start = _parse_start(form.start.data)
        try:
            if start is None or not form.patient_id.data.isdigit() or not form.visit_reason_id.data.isdigit():
                raise SlotUnavailable()
            patient_id = int(form.patient_id.data)
            with transaction():
                appointment = services.book_appointment(
                    practitioner_id=selected.id, visit_reason_id=int(form.visit_reason_id.data), start_at=start,
                    patient_id=patient_id, patient_identity=_identity_for(patient_id),
                    message=form.message.data, by=current_user,
                )
        except CarnetError as error:
            flash(error.message, "error")
            day = start.astimezone(ZoneInfo(timezone)).date().isoformat() if start else None
            return redirect(url_for("booking.desk_book", practitioner=selected.id, patient=form.patient_id.data,
                                    reason=form.visit_reason_id.data, day=day))
        flash(_("The appointment is booked."), "success")
        return redirect(url_for("booking.agenda_appointment", appointment_id=appointment.id))
    query = _text_arg("q")
    born = _date_arg("born", None)
    patient = _desk_chosen_patient(_int_arg("patient"))
    matches = _desk_search(query, born) if query and not patient else []
    reasons = services.visit_reasons_of(selected.id)
    reason = next((r for r in reasons if r.id == _int_arg("reason")), reasons[0] if len(reasons) == 1 else None)
    day = _date_arg("day", _local_today(timezone))
    slots = services.desk_slots(current_user, selected.id, reason.id, day, day) \
        if reason and patient and not walk_in else []
    return render_template(
        "booking/desk_book.html", practitioners=practitioners, selected=selected, timezone=timezone, q=query,
        born=born, matches=matches, patient=patient, walk_in=walk_in, walk_in_form=forms.WalkInForm(),
        reasons=reasons, reason=reason, day=day, slots=slots, form=form,
    )


@bp.route("/agenda/walk-in", methods=["POST"])
@login_required
@limiter.limit(BOOKING_RATE_LIMIT)
def desk_walk_in():
    """Record a walk-in: a visit that starts now, the patient already arrived."""
    selected = _managed_or_forbidden()[1]
    if selected is None:
        raise Forbidden()
    form = forms.WalkInForm()
    if not form.validate_on_submit() or not form.patient_id.data.isdigit() \
            or not form.visit_reason_id.data.isdigit():
        flash(_("Choose the patient and the visit reason."), "error")
        return redirect(url_for("booking.desk_book", practitioner=selected.id, walk_in=1))
    patient_id = int(form.patient_id.data)
    try:
        with transaction():
            appointment = services.record_walk_in(
                practitioner_id=selected.id, visit_reason_id=int(form.visit_reason_id.data), patient_id=patient_id,
                patient_identity=_identity_for(patient_id), message=form.message.data, by=current_user,
            )
    except CarnetError as error:
        flash(error.message, "error")
        return redirect(url_for("booking.desk_book", practitioner=selected.id, patient=patient_id,
                                reason=form.visit_reason_id.data, walk_in=1))
    flash(_("The walk-in is recorded: the visit has begun."), "success")
    return redirect(url_for("booking.agenda_appointment", appointment_id=appointment.id))


@bp.route("/agenda/patients/new", methods=["GET", "POST"])
@login_required
def desk_patient():
    selected = _managed_or_forbidden()[1]
    if selected is None:
        return redirect(url_for("booking.desk_book"))
    form = forms.DeskPatientForm()
    if form.validate_on_submit():
        try:
            with transaction():
                patient = services.create_desk_patient(
                    current_user, practitioner_id=selected.id, first_name=form.first_name.data,
                    last_name=form.last_name.data, birth_date=form.birth_date.data, email=form.email.data,
                    phone=form.phone.data,
                )
        except CarnetError as error:
            show_errors(form, error)
        else:
            flash(_("The patient profile is created."), "success")
            return redirect(url_for("booking.desk_book", patient=patient.id, practitioner=selected.id))
    return render_template("booking/desk_patient.html", form=form, selected=selected)


# --- Practitioner's settings -----------------------------------------------------------------------

@bp.route("/settings/booking")
@login_required
def settings():
    practitioner = services.own_practitioner(current_user)
    return render_template(
        "booking/settings.html", practitioner=practitioner, schedule=services.schedule_of(practitioner.id),
        reasons=services.visit_reasons_of(practitioner.id), hours=services.weekly_hours_of(practitioner.id),
        absences=services.upcoming_absences(practitioner.id), feed_form=forms.EmptyForm(),
        feed_names_form=forms.FeedNamesForm(show_names=services.schedule_of(practitioner.id).feed_shows_patient_names),
        has_feed=services.has_calendar_feed(practitioner.id), weekdays=forms.WEEKDAY_LABELS,
    )


def _reason_values(form: forms.VisitReasonForm) -> dict | None:
    price = form.price_cents()
    if price is None:
        form.price_euros.errors = list(form.price_euros.errors) + [_("Write a price like 30 or 26,50.")]
        return None
    return {"label": form.label.data, "duration_minutes": form.duration_minutes.data, "price_cents": price,
            "new_patients": form.new_patients.data, "returning_patients": form.returning_patients.data,
            "mode": VisitMode(form.mode.data), "shown_in_messages": form.shown_in_messages.data}


@bp.route("/settings/visit-reasons", methods=["GET", "POST"])
@login_required
def visit_reasons():
    practitioner = services.own_practitioner(current_user)
    form = forms.VisitReasonForm()
    if form.validate_on_submit() and (values := _reason_values(form)) is not None:
        try:
            with transaction():
                services.create_visit_reason(current_user, **values)
        except CarnetError as error:
            show_errors(form, error)
        else:
            flash(_("The visit reason is added."), "success")
            return redirect(url_for("booking.visit_reasons"))
    return render_template("booking/visit_reasons.html", form=form, action_form=forms.EmptyForm(),
                           reasons=services.visit_reasons_of(practitioner.id, include_archived=True))


@bp.route("/settings/visit-reasons/<int:reason_id>", methods=["GET", "POST"])
@login_required
def edit_visit_reason(reason_id: int):
    practitioner = services.own_practitioner(current_user)
    reason = next((r for r in services.visit_reasons_of(practitioner.id, include_archived=True) if r.id == reason_id),
                  None)
    if reason is None:
        abort(404)
    form = forms.VisitReasonForm(obj=reason)
    if request.method == "GET":
        form.price_euros.data = f"{reason.price_cents / 100:.2f}".replace(".", ",")
        form.mode.data = reason.mode.value
    if form.validate_on_submit() and (values := _reason_values(form)) is not None:
        try:
            with transaction():
                services.update_visit_reason(current_user, reason.id, **values)
        except CarnetError as error:
            show_errors(form, error)
        else:
            flash(_("The visit reason is saved."), "success")
            return redirect(url_for("booking.visit_reasons"))
    return render_template("booking/visit_reason_edit.html", form=form, reason=reason)


@bp.route("/settings/visit-reasons/<int:reason_id>/<any(archive, restore):action>", methods=["POST"])
@login_required
def archive_visit_reason(reason_id: int, action: str):
    if forms.EmptyForm().validate_on_submit():
        service = services.archive_visit_reason if action == "archive" else services.restore_visit_reason
        with transaction():
            service(current_user, reason_id)
        flash(_("The visit reason is archived.") if action == "archive" else _("The visit reason is restored."),
              "success")
    return redirect(url_for("booking.visit_reasons"))


def _rules_values(schedule) -> dict:
    return {name: getattr(schedule, name) for name in services.SCHEDULE_DEFAULTS}


def _weekly_values(practitioner_id: int) -> list[dict]:
    return [{"weekday": row.weekday, "start": row.start_time, "end": row.end_time}
            for row in services.weekly_hours_of(practitioner_id)]


@bp.route("/settings/hours", methods=["GET", "POST"])
@login_required
def hours():
    practitioner = services.own_practitioner(current_user)
    form = forms.HoursForm()
    if request.method == "GET":
        for weekday, name in enumerate(forms.HoursForm.DAY_FIELDS):
            getattr(form, name).data = ", ".join(
                f"{row.start_time:%H:%M}-{row.end_time:%H:%M}" for row in services.weekly_hours_of(practitioner.id)
                if row.weekday == weekday)
    if form.validate_on_submit():
        try:
            with transaction():
                services.update_schedule(current_user, weekly=form.weekly(),
                                         **_rules_values(services.schedule_of(practitioner.id)))
        except CarnetError as error:
            form.form_errors.extend(message for messages in error.fields.values() for message in messages)
        else:
            flash(_("Your opening hours are saved."), "success")
            return redirect(url_for("booking.settings"))
    return render_template("booking/hours.html", form=form)


@bp.route("/settings/rules", methods=["GET", "POST"])
@login_required
def rules():
    practitioner = services.own_practitioner(current_user)
    schedule = services.schedule_of(practitioner.id)
    form = forms.RulesForm(obj=schedule)
    form.timezone.choices = [SelectChoice(name, name) for name in sorted(services.known_timezones())]
    if form.validate_on_submit():
        values = {name: getattr(form, name).data for name in services.SCHEDULE_DEFAULTS}
        try:
            with transaction():
                services.update_schedule(current_user, weekly=_weekly_values(practitioner.id), **values)
        except CarnetError as error:
            show_errors(form, error)
        else:
            flash(_("Your booking rules are saved."), "success")
            return redirect(url_for("booking.settings"))
    return render_template("booking/rules.html", form=form)


@bp.route("/settings/absences", methods=["GET", "POST"])
@login_required
def absences():
    practitioner = services.own_practitioner(current_user)
    timezone = _timezone_of(practitioner.id)
    form = forms.AbsenceForm()
    if form.validate_on_submit():
        tz = ZoneInfo(timezone)
        start = dt.datetime.combine(form.start_date.data, form.start_time.data or dt.time(), tz)
        if form.end_time.data:
            end = dt.datetime.combine(form.end_date.data, form.end_time.data, tz)
        else:
            end = dt.datetime.combine(form.end_date.data + dt.timedelta(days=1), dt.time(), tz)
        try:
            with transaction():
                services.add_absence(current_user, start_at=start, end_at=end, reason=form.reason.data)
        except CarnetError as error:
            form.end_date.errors = list(form.end_date.errors) + [m for ms in error.fields.values() for m in ms]
        else:
            flash(_("The absence is added: no slot is offered during it."), "success")
            return redirect(url_for("booking.absences"))
    return render_template("booking/absences.html", form=form, timezone=timezone, delete_form=forms.EmptyForm(),
                           absences=services.upcoming_absences(practitioner.id))


@bp.route("/settings/absences/<int:absence_id>/delete", methods=["POST"])
@login_required
def delete_absence(absence_id: int):
    if forms.EmptyForm().validate_on_submit():
        with transaction():
            services.delete_absence(current_user, absence_id)
        flash(_("The absence is removed."), "success")
    return redirect(url_for("booking.absences"))


@bp.route("/settings/calendar-feed", methods=["POST"])
@login_required
def rotate_calendar_feed():
    if not forms.EmptyForm().validate_on_submit():
        return redirect(url_for("booking.settings"))
    with transaction():
        token = services.rotate_calendar_feed(current_user)
    return render_template("booking/calendar_feed.html", url=ics.feed_url(token))


@bp.route("/settings/calendar-feed/names", methods=["POST"])
@login_required
def calendar_feed_names():
    form = forms.FeedNamesForm()
    if form.validate_on_submit():
        with transaction():
            services.set_feed_patient_names(current_user, form.show_names.data)
        flash(_("Your calendar feed shows patients' names.") if form.show_names.data
              else _("Your calendar feed shows patients' initials only."), "success")
    return redirect(url_for("booking.settings"))


@bp.route("/calendar/<token>.ics")
@limiter.limit("60 per minute")
def calendar_feed(token: str):
    practitioner = services.practitioner_for_feed(token) if len(token) <= 100 else None
    if practitioner is None:
        abort(404)
    appointments = services.feed_appointments(practitioner.id)
    show_names = services.schedule_of(practitioner.id).feed_shows_patient_names
    return Response(ics.agenda_calendar(practitioner, appointments, show_names=bool(show_names)), mimetype="text/calendar",
                    headers={"Cache-Control": "private, max-age=300"})


@bp.app_template_filter("booking_datetime")
def format_local_datetime(value: dt.datetime, timezone: str, format: str = "full") -> str:
    """A UTC instant shown in the practitioner's timezone and the user's language."""
    pattern = {"full": "EEEE d MMMM y, HH:mm", "short": "EEE d MMM, HH:mm"}.get(format, format)
    return format_datetime(value, pattern, tzinfo=ZoneInfo(timezone), locale=get_locale())


@bp.app_template_filter("booking_time")
def format_local_time(value: dt.datetime, timezone: str) -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime("%H:%M")


@bp.app_template_filter("booking_date_iso")
def local_date_iso(value: dt.datetime, timezone: str) -> str:
    return value.astimezone(ZoneInfo(timezone)).date().isoformat()


@bp.app_template_filter("booking_day")
def format_day(value: dt.date, format: str = "EEEE d MMMM") -> str:
    return format_date(value, format, locale=get_locale())


@bp.app_template_filter("booking_price")
def format_price(cents: int, currency: str = "EUR") -> str:
    return format_currency(cents / 100, currency)

