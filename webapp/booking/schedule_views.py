"""Practitioner's settings pages: opening hours (time pickers, breaks) and
absences (warned about booked appointments)."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.booking import absences as absence_rules
from webapp.booking import agendas, bp, forms, hours_form, settings
from webapp.booking.rules import SCHEDULE_DEFAULTS
from webapp.errors import CarnetError
from webapp.transaction import transaction
from webapp.web import form_action


def _rules_values(schedule) -> dict:
    return {name: getattr(schedule, name) for name in SCHEDULE_DEFAULTS}


def _hours_page(form, rows, problems=()):
    return render_template("booking/hours.html", form=form, rows=rows, weekdays=forms.WEEKDAY_LABELS,
                           problems=list(problems))


@bp.route("/settings/hours", methods=["GET", "POST"])
@login_required
def hours():
    """Opening hours per weekday; adding or removing a range posts the form
    back unsaved, saving checks each range (the API's PUT schedule takes the same)."""
    practitioner = agendas.own_practitioner(current_user)
    form = hours_form.HoursForm()
    if request.method == "GET":
        return _hours_page(form, hours_form.rows_of(settings.weekly_hours_of(practitioner.id)))
    rows = hours_form.read_ranges(request.form)
    if not form.validate_on_submit():
        return _hours_page(form, rows, [_("The form has expired: save again.")])
    if hours_form.apply_edit(rows, request.form):
        return _hours_page(form, rows)
    weekly = hours_form.checked_weekly(rows)
    if weekly is None:
        return _hours_page(form, rows, [_("Some ranges are not valid: see the messages next to them.")])
    return _save_hours(form, rows, weekly, practitioner.id)


def _save_hours(form, rows, weekly: list[dict], practitioner_id: int):
    """Save the checked opening hours, keeping the booking rules; the service's refusals shown above the form."""
    with form_action(form) as done:
        rules = _rules_values(settings.schedule_of(practitioner_id))
        settings.update_schedule(current_user, weekly=weekly, **rules)
    if not done.succeeded:
        # The page lists every problem above the ranges (the form has no field of its own).
        error = done.error
        return _hours_page(form, rows, [message for messages in error.fields.values() for message in messages]
                           or [error.message])
    flash(_("Your opening hours are saved."), "success")
    return redirect(url_for("booking.settings"))


def _absence_bounds(form: forms.AbsenceForm, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """Local dates and optional times as instants; without an end time, the end date is included whole."""
    tz = ZoneInfo(timezone)
    start = dt.datetime.combine(form.start_date.data, form.start_time.data or dt.time(), tz)
    if form.end_time.data:
        return start, dt.datetime.combine(form.end_date.data, form.end_time.data, tz)
    return start, dt.datetime.combine(form.end_date.data + dt.timedelta(days=1), dt.time(), tz)


def _checked_ids() -> set[int]:
    return {int(value) for value in request.form.getlist("cancel") if value.isdigit() and len(value) < 10}


def _add_absence(form, cancel_form, timezone: str):
    """Add the absence, after a confirmation step listing the booked
    appointments it overlaps; None to show the form again with its errors."""
    decision = request.form.get("decision")
    start, end = _absence_bounds(form, timezone)
    booked = absence_rules.booked_during(current_user, start, end) if end > start else []
    confirm = dict(form=form, cancel_form=cancel_form, booked=booked, timezone=timezone, start=start, end=end)
    if booked and decision not in ("cancel", "keep"):
        return render_template("booking/absence_confirm.html", **confirm)
    cancel_ids = _checked_ids() if decision == "cancel" else set()
    # Not `form_action`: a refusal is placed across two forms (the patients'
    # message on the confirmation step, the dates on the absence form).
    try:
        with transaction():
            cancelled = absence_rules.add_absence_over_appointments(
                current_user, start_at=start, end_at=end, reason=form.reason.data, cancel_ids=cancel_ids,
                message=cancel_form.message.data or "")[1]
    except CarnetError as error:
        if "reason" in error.fields:  # the message to the patients, when cancelling
            cancel_form.message.errors = list(error.fields["reason"])
            return render_template("booking/absence_confirm.html", **confirm)
        form.end_date.errors = list(form.end_date.errors) + [m for ms in error.fields.values() for m in ms]
        return None
    if cancelled:
        flash(_("The absence is added; %(count)d appointments are cancelled and their patients told.",
                count=len(cancelled)), "success")
    else:
        flash(_("The absence is added: no slot is offered during it."), "success")
    return redirect(url_for("booking.absences"))


@bp.route("/settings/absences", methods=["GET", "POST"])
@login_required
def absences():
    """Add an absence. Over booked appointments a confirmation step lists them
    first and offers to cancel them, the patients being told (no JavaScript needed)."""
    practitioner = agendas.own_practitioner(current_user)
    timezone = settings.schedule_of(practitioner.id).timezone
    form = forms.AbsenceForm()
    if form.validate_on_submit():
        answer = _add_absence(form, forms.AbsenceCancelForm(), timezone)
        if answer is not None:
            return answer
    return render_template("booking/absences.html", form=form, timezone=timezone, delete_form=forms.EmptyForm(),
                           absences=settings.upcoming_absences(practitioner.id))
