"""The desk (practitioners and clinic secretaries): an appointment on the agenda and its actions,
booking for a patient, walk-ins, new patients. The grid itself is in webapp.booking.agenda_views."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from webapp.accounts.models import PatientProfile, Role
from webapp.accounts.views import show_errors
from webapp.booking import agendas, appointments, availability, bp, desk, forms, settings
from webapp.booking.appointment_actions import appointment_actions
from webapp.booking.errors import SlotUnavailable, TooManyIdentificationFailures
from webapp.booking.models import AppointmentStatus
from webapp.booking.view_helpers import (
    BOOKING_RATE_LIMIT,
    date_arg,
    int_arg,
    local_today,
    parse_start,
    require_role,
    text_arg,
    timezone_of,
)
from webapp.db import now_utc
from webapp.errors import CarnetError, Forbidden
from webapp.extensions import limiter
from webapp.navigation import register_nav
from webapp.transaction import transaction
from webapp.urls import safe_next_url

register_nav("booking.agenda", _l("Agenda"), {Role.PRACTITIONER, Role.STAFF}, order=10,
             when=agendas.works_at_a_desk)
register_nav("booking.desk_book", _l("Book for a patient"), {Role.PRACTITIONER, Role.STAFF}, order=15,
             when=agendas.works_at_a_desk)


def _managed_or_forbidden():
    """The agendas the user's desk runs and the one chosen by `?practitioner=`;
    403 for anyone without a desk (patients, accountants, the operator's staff)."""
    require_role(Role.PRACTITIONER, Role.STAFF)
    practitioners = agendas.managed_practitioners(current_user)
    if not practitioners and current_user.role is Role.STAFF:
        raise Forbidden()
    chosen = int_arg("practitioner")
    selected = next((p for p in practitioners if p.id == chosen), practitioners[0] if practitioners else None)
    return practitioners, selected


# The grid of /agenda lives in webapp.booking.agenda_views.


@bp.route("/agenda/appointments/<int:appointment_id>")
@login_required
def agenda_appointment(appointment_id: int):
    require_role(Role.PRACTITIONER, Role.STAFF)
    appointment = appointments.appointment_for(current_user, appointment_id)
    return render_template(
        "booking/agenda_appointment.html", appointment=appointment, timezone=timezone_of(appointment.practitioner_id),
        now=now_utc(), cancel_form=forms.PractitionerCancelForm(), mark_form=forms.AgendaMarkForm(),
        statuses=AppointmentStatus, actions=appointment_actions(appointment, current_user),
        arrival_earliest=appointments.ARRIVAL_EARLIEST,
    )


AGENDA_MARKS = {
    "arrived": (appointments.mark_arrived, _l("The patient is marked arrived.")),
    "no-show": (appointments.mark_no_show, _l("Marked as missed.")),
    "complete": (appointments.mark_completed, _l("Marked as done.")),
}


@bp.route("/agenda/appointments/<int:appointment_id>/<any('arrived', 'no-show', 'complete', 'cancel'):action>",
          methods=["POST"])
@login_required
def agenda_action(appointment_id: int, action: str):
    require_role(Role.PRACTITIONER, Role.STAFF)
    form = forms.PractitionerCancelForm() if action == "cancel" else forms.AgendaMarkForm()
    if not form.validate_on_submit():
        if action == "cancel":
            flash(_("Give the patient a reason for the cancellation."), "error")
        return redirect(url_for("booking.agenda_appointment", appointment_id=appointment_id))
    try:
        with transaction():
            if action == "cancel":
                appointment = appointments.cancel_appointment(appointment_id, by=current_user, reason=form.reason.data)
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
        if action != "cancel" and (form.return_to.data or "").startswith("/agenda?"):
            return redirect(safe_next_url(form.return_to.data, url_for("booking.agenda")))  # back to the grid shown
    return redirect(url_for("booking.agenda_appointment", appointment_id=appointment_id))


def _local_day_of(appointment) -> str:
    return appointment.start_at.astimezone(ZoneInfo(timezone_of(appointment.practitioner_id))).date().isoformat()


IDENTIFIED_PATIENTS_KEY = "desk_identified_patients"
IDENTIFIED_PATIENTS_KEPT = 20


def _remember_identified(patients: list[PatientProfile], text: str, birth_date: dt.date) -> None:
    """Keep, for this session, the identity the desk typed (full name and
    birth date) for the patients it found by it, so it can go on booking for
    them: the services check that identity again at each step."""
    identified = session.get(IDENTIFIED_PATIENTS_KEY, {})
    identified.update({str(p.id): [text, birth_date.isoformat()] for p in patients if p.birth_date == birth_date})
    session[IDENTIFIED_PATIENTS_KEY] = dict(list(identified.items())[-IDENTIFIED_PATIENTS_KEPT:])


def identity_for(patient_id: int) -> desk.PatientIdentity | None:
    typed = session.get(IDENTIFIED_PATIENTS_KEY, {}).get(str(patient_id))
    try:
        text, birth_date = typed
        return desk.PatientIdentity(str(text), dt.date.fromisoformat(birth_date))
    except (TypeError, ValueError):
        return None


def desk_search(query: str, born: dt.date | None) -> list[PatientProfile]:
    """The desk's patient search; one with a birth date that finds no one is a
    failed identification, committed, and refused past the limit."""
    try:
        with transaction():
            matches = desk.find_patients(current_user, query, birth_date=born)
    except TooManyIdentificationFailures as error:
        flash(error.message, "error")
        return []
    if born:
        _remember_identified(matches, query, born)
    return matches


def desk_chosen_patient(patient_id: int | None) -> PatientProfile | None:
    if not patient_id:
        return None
    with transaction():
        return desk.desk_patient(current_user, patient_id, identity=identity_for(patient_id))


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
    timezone = timezone_of(selected.id)
    if form.validate_on_submit():
        start = parse_start(form.start.data)
        try:
            if start is None or not form.patient_id.data.isdigit() or not form.visit_reason_id.data.isdigit():
                raise SlotUnavailable()
            patient_id = int(form.patient_id.data)
            with transaction():
                appointment = appointments.book_appointment(
                    practitioner_id=selected.id, visit_reason_id=int(form.visit_reason_id.data), start_at=start,
                    patient_id=patient_id, patient_identity=identity_for(patient_id),
                    message=form.message.data, by=current_user,
                )
        except CarnetError as error:
            flash(error.message, "error")
            day = start.astimezone(ZoneInfo(timezone)).date().isoformat() if start else None
            return redirect(url_for("booking.desk_book", practitioner=selected.id, patient=form.patient_id.data,
                                    reason=form.visit_reason_id.data, day=day))
        flash(_("The appointment is booked."), "success")
        return redirect(url_for("booking.agenda_appointment", appointment_id=appointment.id))
    query = text_arg("q")
    born = date_arg("born", None)
    patient = desk_chosen_patient(int_arg("patient"))
    matches = desk_search(query, born) if query and not patient else []
    reasons = settings.visit_reasons_of(selected.id)
    reason = next((r for r in reasons if r.id == int_arg("reason")), reasons[0] if len(reasons) == 1 else None)
    day = date_arg("day", local_today(timezone))
    slots = availability.desk_slots(current_user, selected.id, reason.id, day, day) \
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
            appointment = appointments.record_walk_in(
                practitioner_id=selected.id, visit_reason_id=int(form.visit_reason_id.data), patient_id=patient_id,
                patient_identity=identity_for(patient_id), message=form.message.data, by=current_user,
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
                patient = desk.create_desk_patient(
                    current_user, practitioner_id=selected.id, first_name=form.first_name.data,
                    last_name=form.last_name.data, birth_date=form.birth_date.data, email=form.email.data,
                    phone=form.phone.data,
                )
        except CarnetError as error:
            show_errors(form, error)
        else:
            flash(_("The patient profile is created."), "success")
            if parse_start(request.args.get("start")):  # created from a free cell of the grid: book it
                return redirect(url_for("booking.agenda_cell", patient=patient.id, practitioner=selected.id,
                                        start=request.args["start"]))
            return redirect(url_for("booking.desk_book", patient=patient.id, practitioner=selected.id))
    return render_template("booking/desk_patient.html", form=form, selected=selected)
