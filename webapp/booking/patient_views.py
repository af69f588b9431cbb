"""The patient side's pages: booking, my appointments (cancel, move, iCalendar), leaving a waiting list."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from webapp.accounts.models import Role
from webapp.accounts.views import show_errors
from webapp.booking import agendas, appointments, availability, bp, forms, ics, next_slots, settings
from webapp.booking import waitlist as booking_waitlist
from webapp.booking.cancellation_window import deadline_before, window_opens_for
from webapp.booking.errors import SlotUnavailable
from webapp.booking.view_helpers import (
    BOOKING_RATE_LIMIT,
    parse_start,
    patient_choices,
    picker_week,
    require_role,
    slots_by_day,
    timezone_of,
)
from webapp.db import now_utc
from webapp.errors import CarnetError
from webapp.extensions import db, limiter
from webapp.navigation import register_nav
from webapp.transaction import transaction

NEXT_SLOTS_SHOWN = 8
register_nav("booking.my_appointments", _l("My appointments"), {Role.PATIENT}, order=20)


@bp.route("/book/<int:practitioner_id>", methods=["GET", "POST"])
@login_required
@limiter.limit(BOOKING_RATE_LIMIT, methods=["POST"])
def book(practitioner_id: int):
    require_role(Role.PATIENT)
    practitioner = agendas.listed_practitioner(practitioner_id)
    form = forms.BookForm()
    form.patient_id.choices = patient_choices()
    if request.method == "GET":
        form.visit_reason_id.data = request.args.get("reason", "")
        form.start.data = request.args.get("start", "")
    start = parse_start(form.start.data)
    reason_id = int(form.visit_reason_id.data) if (form.visit_reason_id.data or "").isdigit() else None
    try:
        reason = availability.reason_for_booking(practitioner.id, reason_id)
    except CarnetError:
        reason = None
    if reason is None or start is None:
        flash(_("Choose a visit reason and a slot first."), "error")
        return redirect(url_for("booking.practitioner_page", practitioner_id=practitioner.id))
    timezone = timezone_of(practitioner.id)
    next_slots = []
    if form.validate_on_submit():
        try:
            with transaction():
                appointment = appointments.book_appointment(
                    practitioner_id=practitioner.id, visit_reason_id=reason.id, start_at=start,
                    patient_id=form.patient_id.data, message=form.message.data,
                    share_notebook_ahead=form.share_notebook_ahead.data, by=current_user,
                )
        except SlotUnavailable as error:
            form.form_errors.append(error.message)
            day = start.astimezone(ZoneInfo(timezone)).date()
            next_slots = availability.available_slots(practitioner.id, reason.id, day,
                                                  day + dt.timedelta(days=availability.MAX_RANGE_DAYS - 1))
            next_slots = next_slots[:NEXT_SLOTS_SHOWN]
        except CarnetError as error:
            show_errors(form, error)
        else:
            flash(_("Your appointment is booked."), "success")
            return redirect(url_for("booking.my_appointment", appointment_id=appointment.id))
    return render_template("booking/book.html", form=form, practitioner=practitioner, reason=reason, start=start,
                           timezone=timezone, next_slots=next_slots)


@bp.route("/appointments")
@login_required
def my_appointments():
    if current_user.role in (Role.PRACTITIONER, Role.STAFF):
        return redirect(url_for("booking.agenda"))
    require_role(Role.PATIENT)
    upcoming = list(db.session.scalars(appointments.appointments_of(current_user, "upcoming")))
    past = list(db.session.scalars(appointments.appointments_of(current_user, "past").limit(50)))
    waitlist = booking_waitlist.waitlist_entries_of(current_user)
    schedules = settings.schedules_of({item.practitioner_id for item in [*upcoming, *past, *waitlist]})
    deadlines = {appointment.id: deadline_before(
        appointment.start_at, schedules[appointment.practitioner_id].cancellation_deadline_hours)
        for appointment in upcoming}
    return render_template("booking/my_appointments.html", upcoming=upcoming, past=past, schedules=schedules,
                           deadlines=deadlines, waitlist=waitlist, now=now_utc(), leave_form=forms.EmptyForm())


@bp.route("/appointments/<int:appointment_id>")
@login_required
def my_appointment(appointment_id: int):
    appointment = appointments.appointment_for(current_user, appointment_id)
    if agendas.can_manage_agenda(current_user, appointment.practitioner):
        return redirect(url_for("booking.agenda_appointment", appointment_id=appointment.id))
    return render_template(
        "booking/appointment.html", appointment=appointment, timezone=timezone_of(appointment.practitioner_id),
        deadline=appointments.patient_deadline_of(appointment), now=now_utc(), cancel_form=forms.CancelForm(),
    )


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["POST"])
@login_required
def cancel_my_appointment(appointment_id: int):
    appointments.appointment_for(current_user, appointment_id)  # 404 for anyone who may not see it
    form = forms.CancelForm()
    if form.validate_on_submit():
        try:
            with transaction():
                appointments.cancel_appointment(appointment_id, by=current_user, reason=form.reason.data)
        except CarnetError as error:
            flash(error.message, "error")
        else:
            flash(_("Your appointment is cancelled."), "success")
    return redirect(url_for("booking.my_appointment", appointment_id=appointment_id))


@bp.route("/appointments/<int:appointment_id>/reschedule", methods=["GET", "POST"])
@login_required
@limiter.limit(BOOKING_RATE_LIMIT, methods=["POST"])
def reschedule(appointment_id: int):
    appointment = appointments.appointment_for(current_user, appointment_id)
    timezone = timezone_of(appointment.practitioner_id)
    form = forms.RescheduleForm()
    if form.validate_on_submit():
        new_start = parse_start(form.start.data)
        try:
            if new_start is None:
                raise SlotUnavailable()
            with transaction():
                appointments.reschedule_appointment(appointment.id, new_start_at=new_start, by=current_user)
        except CarnetError as error:
            flash(error.message, "error")
        else:
            flash(_("Your appointment is moved."), "success")
            return redirect(url_for("booking.my_appointment", appointment_id=appointment.id))
        appointment = appointments.appointment_for(current_user, appointment_id)
    monday, days, previous_week = picker_week(timezone)
    slots = availability.available_slots(appointment.practitioner_id, appointment.visit_reason_id, days[0], days[-1])
    return render_template(
        "booking/reschedule.html", appointment=appointment, timezone=timezone, form=form,
        week=slots_by_day(slots, days, timezone), monday=monday, previous_week=previous_week,
        next_week=monday + dt.timedelta(days=7), window_opens=window_opens_for(appointment.practitioner_id),
        window_hours=settings.schedule_of(appointment.practitioner_id).cancellation_deadline_hours,
    )


@bp.route("/appointments/<int:appointment_id>.ics")
@login_required
def appointment_ics(appointment_id: int):
    appointment = appointments.appointment_for(current_user, appointment_id)
    return Response(ics.appointment_calendar(appointment), mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="carnet-appointment-{appointment.id}.ics"'})


@bp.route("/waitlist/<int:entry_id>/leave", methods=["POST"])
@login_required
def leave_waitlist(entry_id: int):
    if forms.EmptyForm().validate_on_submit():
        with transaction():
            booking_waitlist.leave_waitlist(current_user, entry_id)
        flash(_("You left the waiting list."), "success")
    return redirect(url_for("booking.my_appointments"))
