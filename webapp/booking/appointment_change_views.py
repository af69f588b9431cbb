"""Website steps before a patient's appointment changes, all without JavaScript:
confirm a move (with a warning when the new time falls inside the
no-cancellation window) and confirm a cancellation (with an optional reason).
The changes themselves stay the POSTs of `booking.reschedule` and
`booking.cancel_my_appointment`; the API is not concerned."""

from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.booking import agendas, appointments, availability, bp, forms, settings
from webapp.booking.cancellation_window import is_inside_window, online_deadline
from webapp.booking.errors import SlotUnavailable
from webapp.booking.models import AppointmentStatus
from webapp.booking.view_helpers import parse_start
from webapp.db import now_utc


def _patient_side_appointment(appointment_id: int):
    """The appointment (404 for anyone who may not see it), and whether the
    patient side may still change it online."""
    appointment = appointments.appointment_for(current_user, appointment_id)
    changeable = (appointment.status is AppointmentStatus.BOOKED
                  and now_utc() < appointments.patient_deadline_of(appointment))
    return appointment, changeable


def _is_free(appointment, start, timezone: str) -> bool:
    day = start.astimezone(ZoneInfo(timezone)).date()
    slots = availability.available_slots(appointment.practitioner_id, appointment.visit_reason_id, day, day)
    return any(slot.start_at == start for slot in slots)


@bp.route("/appointments/<int:appointment_id>/reschedule/confirm")
@login_required
def confirm_reschedule(appointment_id: int):
    """The chosen new time, the current one, and what the move means for cancelling later."""
    appointment, changeable = _patient_side_appointment(appointment_id)
    if agendas.can_manage_agenda(current_user, appointment.practitioner):
        return redirect(url_for("booking.agenda_appointment", appointment_id=appointment.id))
    timezone = settings.schedule_of(appointment.practitioner_id).timezone
    start = parse_start(request.args.get("start"))
    if changeable and start is None:
        flash(_("Choose a new slot first."), "error")
        return redirect(url_for("booking.reschedule", appointment_id=appointment.id))
    if changeable and not _is_free(appointment, start, timezone):
        flash(str(SlotUnavailable.default_message), "error")
        return redirect(url_for("booking.reschedule", appointment_id=appointment.id,
                                week=start.astimezone(ZoneInfo(timezone)).date().isoformat()))
    return _confirm_move_page(appointment, changeable, start, timezone)


def _confirm_move_page(appointment, changeable: bool, start, timezone: str):
    return render_template(
        "booking/reschedule_confirm.html", appointment=appointment, changeable=changeable, start=start,
        timezone=timezone, form=forms.RescheduleForm(start=start.isoformat() if start else ""),
        inside_window=changeable and is_inside_window(appointment.practitioner_id, start),
        new_deadline=online_deadline(appointment.practitioner_id, start) if start else None,
        hours=settings.schedule_of(appointment.practitioner_id).cancellation_deadline_hours,
    )


@bp.route("/appointments/<int:appointment_id>/cancel/confirm")
@login_required
def confirm_cancel(appointment_id: int):
    """What is cancelled, with an optional reason, before the POST that cancels."""
    appointment, changeable = _patient_side_appointment(appointment_id)
    if agendas.can_manage_agenda(current_user, appointment.practitioner):
        return redirect(url_for("booking.agenda_appointment", appointment_id=appointment.id))
    form = forms.CancelForm()
    form.reason.description = _("Optional. The practice sees it in its agenda.")
    return render_template(
        "booking/cancel_confirm.html", appointment=appointment, changeable=changeable, form=form,
        timezone=settings.schedule_of(appointment.practitioner_id).timezone,
    )
