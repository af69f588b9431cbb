"""The patient side's pages: booking, my appointments (cancel, move, iCalendar), leaving a waiting list."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from webapp.accounts.models import Role
from webapp.booking import agendas, appointments, availability, bp, forms, ics, pages
from webapp.booking import waitlist as booking_waitlist
from webapp.booking.errors import SlotUnavailable
from webapp.booking.rules import BOOKING_RATE_LIMIT
from webapp.booking.view_helpers import (
    date_arg,
    parse_start,
    patient_choices,
    timezone_of,
)
from webapp.db import now_utc
from webapp.errors import CarnetError, Forbidden
from webapp.extensions import limiter
from webapp.navigation import register_nav
from webapp.web import form_action, roles_required

NEXT_SLOTS_SHOWN = 8
register_nav("booking.my_appointments", _l("My appointments"), {Role.PATIENT}, order=20)


@bp.route("/book/<int:practitioner_id>", methods=["GET", "POST"])
@roles_required(Role.PATIENT)
@limiter.limit(BOOKING_RATE_LIMIT, methods=["POST"])
def book(practitioner_id: int):
    practitioner = agendas.listed_practitioner(practitioner_id)
    form = forms.BookForm()
    form.patient_id.choices = patient_choices()
    # The slot buttons link here with the query's reason and start; the form posts them back.
    if request.method == "GET":
        form.visit_reason_id.data = request.args.get("reason", "")
        form.start.data = request.args.get("start", "")
    start, reason = parse_start(form.start.data), _reason_chosen(practitioner.id, form.visit_reason_id.data)
    if reason is None or start is None:
        flash(_("Choose a visit reason and a slot first."), "error")
        return redirect(url_for("booking.practitioner_page", practitioner_id=practitioner.id))
    appointment, next_slots = _book_submit(form, practitioner.id, reason.id, start) \
        if form.validate_on_submit() else (None, [])
    if appointment is not None:
        flash(_("Your appointment is booked."), "success")
        return redirect(url_for("booking.my_appointment", appointment_id=appointment.id))
    return render_template("booking/book.html", form=form, practitioner=practitioner, reason=reason, start=start,
                           timezone=timezone_of(practitioner.id), next_slots=next_slots)


def _book_submit(form, practitioner_id: int, reason_id: int, start) -> tuple:
    """Book what the form says: (the appointment, []), or (None, the next free
    slots when that one was just taken), the errors placed on the form."""
    with form_action(form) as done:
        return appointments.book_appointment(
            practitioner_id=practitioner_id, visit_reason_id=reason_id, start_at=start,
            patient_id=form.patient_id.data, message=form.message.data,
            share_notebook_ahead=form.share_notebook_ahead.data, by=current_user), []
    # Someone else took the slot meanwhile: offer the next ones rather than a dead end.
    if isinstance(done.error, SlotUnavailable):
        return None, _slots_from(practitioner_id, reason_id, start)
    return None, []


def _reason_chosen(practitioner_id: int, reason_field: str | None):
    """The visit reason the booking form names, if the practitioner offers it online; else None."""
    reason_id = int(reason_field) if (reason_field or "").isdigit() else None
    try:
        return availability.reason_for_booking(practitioner_id, reason_id)
    except CarnetError:
        return None


def _slots_from(practitioner_id: int, reason_id: int, start) -> list:
    """The first free slots from the day of a slot just taken by someone else."""
    day = start.astimezone(ZoneInfo(timezone_of(practitioner_id))).date()
    slots = availability.available_slots(practitioner_id, reason_id, day,
                                         day + dt.timedelta(days=availability.MAX_RANGE_DAYS - 1))
    return slots[:NEXT_SLOTS_SHOWN]


@bp.route("/appointments")
@login_required
def my_appointments():
    # The desk's accounts have an agenda rather than a patient's list.
    if current_user.role in (Role.PRACTITIONER, Role.STAFF):
        return redirect(url_for("booking.agenda"))
    if current_user.role is not Role.PATIENT:
        raise Forbidden()
    return render_template("booking/my_appointments.html", **pages.my_appointments_page(current_user).context(),
                           now=now_utc(), leave_form=forms.EmptyForm())


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
        with form_action() as done:
            appointments.cancel_appointment(appointment_id, by=current_user, reason=form.reason.data)
        if done.succeeded:
            flash(_("Your appointment is cancelled."), "success")
    return redirect(url_for("booking.my_appointment", appointment_id=appointment_id))


@bp.route("/appointments/<int:appointment_id>/reschedule", methods=["GET", "POST"])
@login_required
@limiter.limit(BOOKING_RATE_LIMIT, methods=["POST"])
def reschedule(appointment_id: int):
    appointment = appointments.appointment_for(current_user, appointment_id)
    form = forms.RescheduleForm()
    if form.validate_on_submit():
        new_start = parse_start(form.start.data)
        with form_action() as done:
            if new_start is None:
                raise SlotUnavailable()
            appointments.reschedule_appointment(appointment.id, new_start_at=new_start, by=current_user)
        if done.succeeded:
            flash(_("Your appointment is moved."), "success")
            return redirect(url_for("booking.my_appointment", appointment_id=appointment.id))
    page = pages.reschedule_page(current_user, appointment_id, asked_week=date_arg("week", None))
    return render_template("booking/reschedule.html", **page.context(), form=form)


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
        with form_action(passes=(403, 404)) as done:
            booking_waitlist.leave_waitlist(current_user, entry_id)
        if done.succeeded:
            flash(_("You left the waiting list."), "success")
    return redirect(url_for("booking.my_appointments"))
