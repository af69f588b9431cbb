"""Agenda pages: the day and week time grid, and booking at the desk from one of its free cells."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.accounts.models import Role
from webapp.booking import agenda_grid, agendas, appointments, bp, forms, settings
from webapp.booking.appointment_actions import appointment_actions
from webapp.booking.desk_views import desk_chosen_patient, desk_search, identity_for, patient_and_reason_chosen
from webapp.booking.models import AppointmentStatus
from webapp.booking.rules import BOOKING_RATE_LIMIT
from webapp.booking.view_helpers import date_arg, parse_start, text_arg
from webapp.db import now_utc
from webapp.errors import Forbidden
from webapp.extensions import limiter
from webapp.navigation import register_landing
from webapp.web import form_action, roles_required

# How far back a visit that started still offers its "write" links on the grid.
IN_PROGRESS_WINDOW = dt.timedelta(hours=12)


def _practitioner_ids() -> list[int]:
    # Fewer than 10 digits: a longer number cannot be an id (32-bit columns).
    return [int(value) for value in request.args.getlist("practitioner") if value.isdigit() and len(value) < 10]


def _in_progress_actions(grid: agenda_grid.Grid, now: dt.datetime) -> dict[int, list]:
    """What other features offer beside the visits under way (the notebook's
    "write" links): only those, so the page costs the same whatever the week holds."""
    if current_user.role is not Role.PRACTITIONER:
        return {}
    return {appointment.id: appointment_actions(appointment, current_user)
            for column in grid.columns for cell in column.cells if cell is not None
            for appointment in cell.appointments
            if agenda_grid.is_in_progress(appointment, now) and appointment.start_at > now - IN_PROGRESS_WINDOW}


def _now_row(loaded, now: dt.datetime) -> str | None:
    """The grid row ("09:15") that holds the current time, marked on today's grid only."""
    if loaded.today not in loaded.days:
        return None
    local_now = now.astimezone(ZoneInfo(loaded.timezone))
    return f"{local_now.hour:02d}:{local_now.minute - local_now.minute % agenda_grid.ROW_MINUTES:02d}"


@bp.route("/agenda")
@roles_required(Role.PRACTITIONER, Role.STAFF)
def agenda():
    """Today's grid by default: one column per agenda shown (a clinic's secretary
    sees all those she manages side by side), or `view=week` for one agenda."""
    view = "week" if request.args.get("view") == "week" else "day"
    now = now_utc()
    loaded = agenda_grid.agenda_grid(current_user, day=date_arg("day", None), week=view == "week",
                                     practitioner_ids=_practitioner_ids(), now=now)
    step = dt.timedelta(days=7 if view == "week" else 1)
    chosen = [practitioner.id for practitioner in loaded.shown]
    return render_template(
        "booking/agenda.html", loaded=loaded, grid=loaded.grid, view=view, day=loaded.day, today=loaded.today,
        timezone=loaded.timezone, chosen=chosen, selected=loaded.shown[0], practitioners=loaded.managed,
        previous_day=loaded.days[0] - step, next_day=loaded.days[0] + step, statuses=AppointmentStatus, now=now,
        arrival_earliest=appointments.ARRIVAL_EARLIEST, mark_form=forms.AgendaMarkForm(return_to=request.full_path),
        actions=_in_progress_actions(loaded.grid, now), now_row=_now_row(loaded, now),
    )


def _cell_request():
    """The agenda (`practitioner`) and the start (`start`) a free cell books, from the query or the form."""
    # The page links carry them in the query; the booking form posts them back as fields.
    values = request.form if request.method == "POST" else request.args
    practitioner_id = values.get("practitioner", "")
    start = parse_start(values.get("start"))
    if not practitioner_id.isdigit() or len(practitioner_id) > 9 or start is None:
        return None, None
    return agendas.managed_practitioner(current_user, int(practitioner_id)), start


@bp.route("/agenda/cell", methods=["GET", "POST"])
@roles_required(Role.PRACTITIONER, Role.STAFF)
@limiter.limit(BOOKING_RATE_LIMIT, methods=["POST"])
def agenda_cell():
    """Book a free cell of the grid: the agenda and the start are set, the
    visit reason preselected; find the patient and book in one click."""
    if not agendas.works_at_a_desk(current_user):
        raise Forbidden()
    practitioner, start = _cell_request()
    if practitioner is None:
        flash(_("Choose a free time in the agenda."), "error")
        return redirect(url_for("booking.agenda"))
    timezone = settings.schedule_of(practitioner.id).timezone
    # Back to the day of the cell, which may not be the day the grid shows by default.
    back = url_for("booking.agenda", day=start.astimezone(ZoneInfo(timezone)).date().isoformat())
    form = forms.DeskBookForm()
    if request.method == "POST":
        return _book_cell(form, practitioner, start, back)
    return render_template("booking/agenda_cell.html", **_cell_page(practitioner, start), timezone=timezone,
                           form=form, back=back)


def _book_cell(form, practitioner, start: dt.datetime, back: str):
    """Book the free cell for the patient and reason chosen, then back to the grid (403 refusals raised)."""
    if not patient_and_reason_chosen(form):
        flash(_("Choose the patient and the visit reason."), "error")
        return redirect(url_for("booking.agenda_cell", practitioner=practitioner.id, start=start.isoformat()))
    patient_id = int(form.patient_id.data)
    with form_action(passes=(403,)) as done:
        appointment = appointments.book_appointment(
            practitioner_id=practitioner.id, visit_reason_id=int(form.visit_reason_id.data), start_at=start,
            patient_id=patient_id, patient_identity=identity_for(patient_id), message=form.message.data,
            by=current_user)
    if not done.succeeded:
        return redirect(back)
    flash(_("The appointment of %(name)s is booked.", name=appointment.patient.full_name), "success")
    return redirect(back)


def _cell_page(practitioner, start: dt.datetime) -> dict:
    """The reasons that fit the cell (the one asked for preselected) and the patient searched or chosen."""
    reasons = agenda_grid.reasons_fitting(current_user, practitioner.id, start)
    reason = next((item for item in reasons if str(item.id) == request.args.get("reason")),
                  reasons[0] if reasons else None)
    query, born = text_arg("q"), date_arg("born", None)
    patient = desk_chosen_patient(int(request.args["patient"])) \
        if request.args.get("patient", "").isdigit() and len(request.args["patient"]) < 10 else None
    matches = [patient] if patient else desk_search(query, born) if query else []
    return dict(practitioner=practitioner, start=start, reasons=reasons, reason=reason, q=query, born=born,
                matches=matches)


def _landing(user) -> str | None:
    """Where a practitioner or a clinic secretary lands after login: today's grid."""
    if user.role in (Role.PRACTITIONER, Role.STAFF) and agendas.works_at_a_desk(user):
        return url_for("booking.agenda")
    return None


register_landing(_landing)
