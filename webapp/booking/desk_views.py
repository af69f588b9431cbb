"""The desk (practitioners and clinic secretaries): an appointment on the agenda and its actions,
booking for a patient, walk-ins, new patients. The grid itself is in webapp.booking.agenda_views."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from webapp.accounts.models import PatientProfile, Role
from webapp.booking import agendas, appointments, availability, bp, desk, forms, settings
from webapp.booking.appointment_actions import appointment_actions
from webapp.booking.errors import SlotUnavailable
from webapp.booking.models import AppointmentStatus
from webapp.booking.pages import local_today
from webapp.booking.rules import BOOKING_RATE_LIMIT
from webapp.booking.view_helpers import (
    date_arg,
    int_arg,
    parse_start,
    text_arg,
    timezone_of,
)
from webapp.db import now_utc
from webapp.errors import Forbidden
from webapp.extensions import limiter
from webapp.navigation import register_nav
from webapp.transaction import transaction
from webapp.urls import safe_next_url
from webapp.web import form_action, roles_required

register_nav("booking.agenda", _l("Agenda"), {Role.PRACTITIONER, Role.STAFF}, order=10,
             when=agendas.works_at_a_desk)
register_nav("booking.desk_book", _l("Book for a patient"), {Role.PRACTITIONER, Role.STAFF}, order=15,
             when=agendas.works_at_a_desk)


def _managed_or_forbidden():
    """The agendas the user's desk runs and the one chosen by `?practitioner=`;
    403 for anyone without a desk (patients, accountants, the operator's staff)."""
    if current_user.role not in (Role.PRACTITIONER, Role.STAFF):
        raise Forbidden()
    practitioners = agendas.managed_practitioners(current_user)
    if not practitioners and current_user.role is Role.STAFF:
        raise Forbidden()
    chosen = int_arg("practitioner")
    selected = next((p for p in practitioners if p.id == chosen), practitioners[0] if practitioners else None)
    return practitioners, selected


# The grid of /agenda lives in webapp.booking.agenda_views.


@bp.route("/agenda/appointments/<int:appointment_id>")
@roles_required(Role.PRACTITIONER, Role.STAFF)
def agenda_appointment(appointment_id: int):
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
@roles_required(Role.PRACTITIONER, Role.STAFF)
def agenda_action(appointment_id: int, action: str):
    form = forms.PractitionerCancelForm() if action == "cancel" else forms.AgendaMarkForm()
    if not form.validate_on_submit():
        if action == "cancel":
            flash(_("Give the patient a reason for the cancellation."), "error")
        return redirect(url_for("booking.agenda_appointment", appointment_id=appointment_id))
    with form_action() as done:
        appointment, message = _apply_agenda_action(appointment_id, action, form)
    if done.succeeded:
        flash(str(message), "success")
        if action != "cancel":
            return redirect(_after_mark(appointment, form.return_to.data))
    return redirect(url_for("booking.agenda_appointment", appointment_id=appointment_id))


def _apply_agenda_action(appointment_id: int, action: str, form):
    """Run the agenda's action on the appointment: (the appointment, what to tell the desk)."""
    if action == "cancel":
        appointment = appointments.cancel_appointment(appointment_id, by=current_user, reason=form.reason.data)
        return appointment, _("The appointment is cancelled.")
    service, message = AGENDA_MARKS[action]
    return service(appointment_id, by=current_user), message


def _after_mark(appointment, return_to: str | None) -> str:
    """Where the desk goes after marking: back to the grid it came from, or the appointment."""
    if return_to == "agenda":
        return url_for("booking.agenda", practitioner=appointment.practitioner_id, day=_local_day_of(appointment))
    if (return_to or "").startswith("/agenda?"):
        return safe_next_url(return_to, url_for("booking.agenda"))  # back to the grid shown
    return url_for("booking.agenda_appointment", appointment_id=appointment.id)


def _local_day_of(appointment) -> str:
    return appointment.start_at.astimezone(ZoneInfo(timezone_of(appointment.practitioner_id))).date().isoformat()


IDENTIFIED_PATIENTS_KEY = "desk_identified_patients"
# The session is a signed cookie: only the last patients identified are
# remembered, so that it stays well under the browsers' 4 KB limit.
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
    with form_action(passes=(403,)) as done:
        matches = desk.find_patients(current_user, query, birth_date=born)
    if not done.succeeded:
        return []
    if born:
        _remember_identified(matches, query, born)
    return matches


def desk_chosen_patient(patient_id: int | None) -> PatientProfile | None:
    if not patient_id:
        return None
    # A unit of work although it reads: a patient the desk cannot identify
    # counts as a failed identification, which the refusal commits.
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
    if form.validate_on_submit():
        return _desk_book_submit(selected, form)
    return render_template("booking/desk_book.html", **_desk_book_page(practitioners, selected, walk_in), form=form)


def _desk_book_submit(selected, form):
    """Book what the desk chose; on a refusal, back to the same choices with the reason."""
    start = parse_start(form.start.data)
    with form_action() as done:
        # The desk picks these from the page's lists: only a stale or edited page
        # sends anything else, and it is told to choose the slot again.
        if start is None or not form.patient_id.data.isdigit() or not form.visit_reason_id.data.isdigit():
            raise SlotUnavailable()
        patient_id = int(form.patient_id.data)
        appointment = appointments.book_appointment(
            practitioner_id=selected.id, visit_reason_id=int(form.visit_reason_id.data), start_at=start,
            patient_id=patient_id, patient_identity=identity_for(patient_id),
            message=form.message.data, by=current_user,
        )
    if not done.succeeded:
        # Back to the same patient, reason and day: the desk picks another slot without searching again.
        day = start.astimezone(ZoneInfo(timezone_of(selected.id))).date().isoformat() if start else None
        return redirect(url_for("booking.desk_book", practitioner=selected.id, patient=form.patient_id.data,
                                reason=form.visit_reason_id.data, day=day))
    flash(_("The appointment is booked."), "success")
    return redirect(url_for("booking.agenda_appointment", appointment_id=appointment.id))


def _desk_book_page(practitioners, selected, walk_in: bool) -> dict:
    """What the desk's booking page shows for the query string: the patient
    searched or chosen, the visit reasons, and the chosen day's slots."""
    timezone = timezone_of(selected.id)
    query, born = text_arg("q"), date_arg("born", None)
    patient = desk_chosen_patient(int_arg("patient"))
    matches = desk_search(query, born) if query and not patient else []
    reasons = settings.visit_reasons_of(selected.id)
    reason = next((r for r in reasons if r.id == int_arg("reason")), reasons[0] if len(reasons) == 1 else None)
    day = date_arg("day", local_today(timezone))
    slots = availability.desk_slots(current_user, selected.id, reason.id, day, day) \
        if reason and patient and not walk_in else []
    return dict(practitioners=practitioners, selected=selected, timezone=timezone, q=query, born=born,
                matches=matches, patient=patient,
                walk_in=walk_in, walk_in_form=forms.WalkInForm(), reasons=reasons, reason=reason, day=day, slots=slots)


def patient_and_reason_chosen(form) -> bool:
    """Whether a desk form names a patient and a visit reason (ids)."""
    return form.validate_on_submit() and form.patient_id.data.isdigit() and form.visit_reason_id.data.isdigit()


@bp.route("/agenda/walk-in", methods=["POST"])
@login_required
@limiter.limit(BOOKING_RATE_LIMIT)
def desk_walk_in():
    """Record a walk-in: a visit that starts now, the patient already arrived."""
    selected, form = _managed_or_forbidden()[1], forms.WalkInForm()
    if selected is None:
        raise Forbidden()
    if not patient_and_reason_chosen(form):
        flash(_("Choose the patient and the visit reason."), "error")
        return redirect(url_for("booking.desk_book", practitioner=selected.id, walk_in=1))
    patient_id = int(form.patient_id.data)
    with form_action() as done:
        appointment = appointments.record_walk_in(
            practitioner_id=selected.id, visit_reason_id=int(form.visit_reason_id.data), patient_id=patient_id,
            patient_identity=identity_for(patient_id), message=form.message.data, by=current_user)
    if not done.succeeded:
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
        with form_action(form) as done:
            patient = desk.create_desk_patient(
                current_user, practitioner_id=selected.id, first_name=form.first_name.data,
                last_name=form.last_name.data, birth_date=form.birth_date.data, email=form.email.data,
                phone=form.phone.data,
            )
        if done.succeeded:
            flash(_("The patient profile is created."), "success")
            return redirect(_booking_the_new_patient(patient, selected))
    return render_template("booking/desk_patient.html", form=form, selected=selected)


def _booking_the_new_patient(patient, selected) -> str:
    """Where the desk books the patient it just created: the grid's free cell it came from, or the desk's page."""
    if parse_start(request.args.get("start")):
        return url_for("booking.agenda_cell", patient=patient.id, practitioner=selected.id, start=request.args["start"])
    return url_for("booking.desk_book", patient=patient.id, practitioner=selected.id)
