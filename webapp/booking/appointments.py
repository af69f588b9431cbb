"""Appointments: booking, walk-ins, cancelling, rescheduling, arrival and no-show, the agenda.

Services flush but never commit; the caller wraps them in `transaction()`.
Signals (webapp.booking.signals) are sent inside that same unit of work.
"""

import datetime as dt
import zoneinfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from webapp.accounts.models import PatientProfile, PractitionerProfile, Role, User
from webapp.accounts.relatives import acting_patient_ids
from webapp.accounts.verification import require_verified
from webapp.audit.services import record_event
from webapp.billing.bookability import is_bookable
from webapp.booking import signals
from webapp.booking import slots as slot_rules
from webapp.booking.agendas import can_manage_agenda, managed_practitioner, no_such_practitioner
from webapp.booking.availability import (
    booking_request,
    check_date_range,
    check_start,
    load_availability,
    offered_reason,
)
from webapp.booking.cancellation_window import check_patient_deadline, online_deadline
from webapp.booking.desk import PatientIdentity, desk_agenda_ids, desk_patient, identify_patient
from webapp.booking.errors import (
    AppointmentNotActive,
    AppointmentNotStarted,
    BookingNotFound,
    NotBookableOnline,
    PatientArrived,
    ReasonNotForThisPatient,
    SlotUnavailable,
    TooEarlyForArrival,
    field_error,
    no_such_patient,
)
from webapp.booking.hold_cells import release_expired_holds
from webapp.booking.models import Appointment, AppointmentStatus, OccupiedCell, VisitReason
from webapp.booking.rules import CELL_MINUTES
from webapp.booking.settings import schedule_of
from webapp.booking.signals import sender
from webapp.booking.treating import has_appointment_with
from webapp.booking.waitlist import close_waitlist_entries_served_by, offer_freed_slot
from webapp.db import now_utc
from webapp.errors import Forbidden
from webapp.extensions import db

MAX_MESSAGE_LENGTH = 1000


def occupied_cells_for(practitioner_id: int, start_at: dt.datetime, end_at: dt.datetime) -> list[OccupiedCell]:
    """The cells an appointment from `start_at` to `end_at` holds."""
    cell = dt.timedelta(minutes=CELL_MINUTES)
    count = (end_at - start_at) // cell
    return [OccupiedCell(practitioner_id=practitioner_id, cell_start_at=start_at + index * cell)
            for index in range(count)]


def _hold_time(appointment: Appointment, *, expired_holds_in_the_way: bool) -> None:
    """Write the appointment's cells; the database refuses any overlap.
    Expired slot holds in the way give their time back first: the caller
    knows from its availability whether there are any, which spares a query
    (a hold that expired since was live then, and made the slot busy)."""
    if expired_holds_in_the_way:
        release_expired_holds(appointment.practitioner_id, appointment.start_at, appointment.end_at, now_utc())
    appointment.cells = occupied_cells_for(appointment.practitioner_id, appointment.start_at, appointment.end_at)
    db.session.add(appointment)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # Another booking took one of these cells first (maybe concurrently).
        raise SlotUnavailable() from None


def _release_time(appointment: Appointment) -> None:
    appointment.cells = []
    db.session.flush()


def _is_patient_side(user: User, appointment: Appointment) -> bool:
    return user.role is Role.PATIENT and appointment.patient_id in acting_patient_ids(user)


def _check_reason_open_to(reason: VisitReason, patient_id: int) -> None:
    if reason.new_patients and reason.returning_patients:
        return  # open to everyone: no need to ask whether the patient is a returning one
    returning = has_appointment_with(reason.practitioner_id, patient_id)
    if returning and not reason.returning_patients:
        raise ReasonNotForThisPatient(_l("This visit reason is for new patients only."))
    if not returning and not reason.new_patients:
        raise ReasonNotForThisPatient(_l("This visit reason is for the practitioner's existing patients only."))


def _clean_message(message: str | None) -> str | None:
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE_LENGTH:
        raise field_error("message", _l("At most %(count)d characters.", count=MAX_MESSAGE_LENGTH))
    return message or None


def _desk_booking_patient(by: User, practitioner: PractitionerProfile, patient_id: int | None,
                          identity: PatientIdentity | None, now: dt.datetime) -> PatientProfile:
    """The patient a desk books for: `patient_id` of a patient known to the
    practice, or the one profile with `identity` (counted when it fails)."""
    if patient_id is None:
        return identify_patient(by, identity, practitioner_id=practitioner.id, now=now)
    return desk_patient(by, patient_id, identity=identity, practitioner_id=practitioner.id, now=now)


def _check_desk_request(by: User, practitioner: PractitionerProfile, patient_id: int | None,
                        identity: PatientIdentity | None, share_notebook_ahead: bool) -> None:
    if not can_manage_agenda(by, practitioner):
        raise Forbidden(_l("You can only book in the agendas you manage."))
    require_verified(practitioner)
    if patient_id is None and identity is None:
        raise field_error("patient_id", _l("Choose the patient."))
    if share_notebook_ahead:
        raise field_error("share_notebook_ahead", _l("Only the patient side can share the notebook ahead."))


def book_appointment(*, practitioner_id: int, visit_reason_id: int | None, start_at: dt.datetime, by: User,
                     patient_id: int | None = None, patient_identity: PatientIdentity | None = None,
                     message: str | None = None, share_notebook_ahead: bool = False,
                     now: dt.datetime | None = None) -> Appointment:
    """Book a free slot.

    A patient books for their own profile (the default) or a relative's,
    only with a verified practitioner bookable online (404 for others, as for an
    unknown id), and only reasons open to them
    (new or returning patient); `share_notebook_ahead` lets the practitioner
    read the notebook from now on rather than from the visit
    (webapp.booking.visits). A practitioner or clinic secretary books at the
    desk, in the agendas they manage of a verified practitioner (403
    `practitioner_not_verified` otherwise), for a patient known to the practice
    (`patient_id`) or reached by their full `patient_identity`; desk bookings
    ignore notice, horizon and buffer but never overlap another appointment:
    the database refuses it (409 `slot_unavailable`). At the desk the slot is
    checked before the patient, so a taken slot answers 409 whoever is named;
    an identity that matches no one is a 404 `patient_not_found`, counted per
    account (429 past `CARNET_DESK_IDENTIFICATION_MAX_FAILURES`) and audited."""
    now = now or now_utc()
    practitioner, reason, bookable, schedules = booking_request(practitioner_id, visit_reason_id)
    at_desk = by.role in (Role.PRACTITIONER, Role.STAFF)
    patient = None
    if at_desk:
        _check_desk_request(by, practitioner, patient_id, patient_identity, share_notebook_ahead)
    elif by.role is Role.PATIENT:
        if not practitioner.is_verified:
            raise no_such_practitioner()
        own_profile = by.patient_profile
        if own_profile is not None and patient_id in (None, own_profile.id):
            patient = own_profile  # their own profile: no need to look up the relatives they act for
        elif patient_id in acting_patient_ids(by):
            patient = db.session.get(PatientProfile, patient_id)
        else:
            raise no_such_patient()
    else:
        raise Forbidden()
    reason = offered_reason(reason, practitioner.id)
    message = _clean_message(message)
    if not at_desk:
        if not bookable:
            raise NotBookableOnline()
        _check_reason_open_to(reason, patient.id)
    day = start_at.astimezone(slot_rules.UTC).date()
    availability = load_availability([practitioner.id], day, day, at_desk=at_desk,
                                     schedules=schedules, now=now, expired_holds=True)[practitioner.id]
    check_start(availability, reason, start_at, now)
    if at_desk:
        patient = _desk_booking_patient(by, practitioner, patient_id, patient_identity, now)
    appointment = Appointment(
        practitioner_id=practitioner.id, patient_id=patient.id, visit_reason_id=reason.id,
        start_at=start_at.astimezone(slot_rules.UTC),
        end_at=start_at.astimezone(slot_rules.UTC) + dt.timedelta(minutes=reason.duration_minutes),
        status=AppointmentStatus.BOOKED, message=message, booked_by_user_id=by.id, booked_at_desk=at_desk,
        shares_notebook_ahead=bool(share_notebook_ahead) and not at_desk, created_at=now,
    )
    _hold_time(appointment, expired_holds_in_the_way=availability.expired_hold_overlaps(appointment.start_at,
                                                                                         appointment.end_at))
    close_waitlist_entries_served_by(appointment)
    signals.appointment_booked.send(sender(), appointment=appointment, actor=by)
    return appointment


def _cell_floor(moment: dt.datetime) -> dt.datetime:
    """The start of the grid cell holding `moment` (UTC)."""
    moment = moment.astimezone(slot_rules.UTC).replace(second=0, microsecond=0)
    return moment - dt.timedelta(minutes=moment.minute % CELL_MINUTES)


def record_walk_in(*, practitioner_id: int, visit_reason_id: int | None, by: User, patient_id: int | None = None,
                   patient_identity: PatientIdentity | None = None, message: str | None = None,
                   now: dt.datetime | None = None) -> Appointment:
    """Record a patient seen without appointment: a visit that starts now (at
    the start of the current grid cell) and lasts the reason's duration, at
    any hour (opening hours, absences and holidays do not apply), already
    arrived, so it has begun for the notebook. Only the desk of the agenda
    (the practitioner, a clinic secretary) records one, for a patient reached
    as at desk booking; the time is checked first and never overlaps another
    appointment (409 `slot_unavailable`, enforced by the database). No
    confirmation or reminder is sent: the patient is there."""
    now = now or now_utc()
    if by.role not in (Role.PRACTITIONER, Role.STAFF):
        raise Forbidden()
    practitioner, reason, _, _ = booking_request(practitioner_id, visit_reason_id)
    _check_desk_request(by, practitioner, patient_id, patient_identity, False)
    reason = offered_reason(reason, practitioner.id)
    message = _clean_message(message)
    start = _cell_floor(now)
    end = start + dt.timedelta(minutes=reason.duration_minutes)
    release_expired_holds(practitioner.id, start, end, now)
    if db.session.scalar(sa.select(sa.literal(1)).select_from(OccupiedCell).where(
            OccupiedCell.practitioner_id == practitioner.id, OccupiedCell.cell_start_at >= start,
            OccupiedCell.cell_start_at < end).limit(1)) is not None:
        raise SlotUnavailable(_l("Another appointment takes this time: end or move it first."))
    patient = _desk_booking_patient(by, practitioner, patient_id, patient_identity, now)
    appointment = Appointment(
        practitioner_id=practitioner.id, patient_id=patient.id, visit_reason_id=reason.id, start_at=start, end_at=end,
        status=AppointmentStatus.BOOKED, message=message, booked_by_user_id=by.id, booked_at_desk=True,
        is_walk_in=True, arrived_at=now, created_at=now,
    )
    _hold_time(appointment, expired_holds_in_the_way=False)  # released above
    close_waitlist_entries_served_by(appointment)
    record_event("appointment.walk_in", actor=by, target_type="appointment", target_id=appointment.id,
                 details={"practitioner_id": practitioner.id, "patient_id": patient.id})
    return appointment


def can_see_appointment(user: User, appointment: Appointment) -> bool:
    return _is_patient_side(user, appointment) or can_manage_agenda(user, appointment.practitioner)


def appointment_for(user: User, appointment_id: int) -> Appointment:
    """An appointment the user may see (patient side, its practitioner, their
    clinic's staff); 404 for anyone else, so its existence does not leak."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or not can_see_appointment(user, appointment):
        raise BookingNotFound()
    return appointment


def patient_deadline_of(appointment: Appointment) -> dt.datetime:
    """Until when the patient side may cancel or move the appointment online."""
    return online_deadline(appointment.practitioner_id, appointment.start_at)


def _changeable_by(user: User, appointment_id: int, now: dt.datetime) -> tuple[Appointment, bool]:
    """The active appointment and whether the user acts at the desk."""
    appointment = appointment_for(user, appointment_id)
    if appointment.status is not AppointmentStatus.BOOKED:
        raise AppointmentNotActive()
    at_desk = can_manage_agenda(user, appointment.practitioner)
    if at_desk:
        require_verified(appointment.practitioner)
    else:
        check_patient_deadline(appointment.practitioner_id, appointment.start_at, now)
    return appointment, at_desk


def cancel_appointment(appointment_id: int, *, by: User, reason: str | None = None,
                       now: dt.datetime | None = None) -> Appointment:
    """Cancel an active appointment and free its time.

    The patient side may cancel until the practitioner's deadline; the
    practitioner and their clinic's staff at any time, with a reason. The
    freed slot is offered to the waiting list."""
    now = now or now_utc()
    appointment, at_desk = _changeable_by(by, appointment_id, now)
    reason = (reason or "").strip()
    if at_desk and not reason:
        raise field_error("reason", _l("Give the patient a reason for the cancellation."))
    if len(reason) > 500:
        raise field_error("reason", _l("At most %(count)d characters.", count=500))
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = appointment.status_changed_at = now
    appointment.cancelled_by_user_id = by.id
    appointment.cancel_reason = reason or None
    appointment.ics_sequence += 1
    _release_time(appointment)
    signals.appointment_cancelled.send(sender(), appointment=appointment, actor=by, reason=reason or None)
    offer_freed_slot(appointment.practitioner_id, appointment.start_at, appointment.end_at, now=now)
    return appointment


def reschedule_appointment(appointment_id: int, *, new_start_at: dt.datetime, by: User,
                           now: dt.datetime | None = None) -> Appointment:
    """Move an active appointment to another free slot of the same reason.

    Atomic: the old time is released and the new one held in one unit of
    work, so if the new slot is taken the appointment stays where it was.
    Deadline and slot rules are those of cancelling and booking."""
    now = now or now_utc()
    appointment, at_desk = _changeable_by(by, appointment_id, now)
    if not at_desk and not (appointment.practitioner.is_verified and is_bookable(appointment.practitioner_id)):
        raise NotBookableOnline()
    previous_start_at, previous_end_at = appointment.start_at, appointment.end_at
    day = new_start_at.astimezone(slot_rules.UTC).date()
    availability = load_availability([appointment.practitioner_id], day, day, at_desk=at_desk,
                                     ignore_appointment_id=appointment.id, now=now,
                                     expired_holds=True)[appointment.practitioner_id]
    check_start(availability, appointment.visit_reason, new_start_at, now)
    _release_time(appointment)
    appointment.start_at = new_start_at.astimezone(slot_rules.UTC)
    appointment.end_at = appointment.start_at + dt.timedelta(minutes=appointment.visit_reason.duration_minutes)
    appointment.rescheduled_count += 1
    appointment.ics_sequence += 1
    appointment.status_changed_at = now
    _hold_time(appointment, expired_holds_in_the_way=availability.expired_hold_overlaps(appointment.start_at,
                                                                                         appointment.end_at))
    signals.appointment_rescheduled.send(sender(), appointment=appointment, actor=by,
                                         previous_start_at=previous_start_at, previous_end_at=previous_end_at)
    offer_freed_slot(appointment.practitioner_id, previous_start_at, previous_end_at, now=now)
    return appointment


def _desk_appointment(appointment_id: int, by: User) -> Appointment:
    """An active appointment of an agenda the user's desk runs (404 if they
    may not see it, 403 for the patient side, 409 if no longer booked)."""
    appointment = appointment_for(by, appointment_id)
    if not can_manage_agenda(by, appointment.practitioner):
        raise Forbidden()
    require_verified(appointment.practitioner)
    if appointment.status is not AppointmentStatus.BOOKED:
        raise AppointmentNotActive()
    return appointment


def _mark(appointment_id: int, status: AppointmentStatus, by: User, now: dt.datetime | None) -> Appointment:
    now = now or now_utc()
    appointment = _desk_appointment(appointment_id, by)
    if appointment.start_at > now and appointment.arrived_at is None:
        raise AppointmentNotStarted()
    if status is AppointmentStatus.NO_SHOW and appointment.arrived_at is not None:
        raise PatientArrived()
    appointment.status = status
    appointment.status_changed_at = now
    db.session.flush()
    return appointment


def mark_no_show(appointment_id: int, *, by: User, now: dt.datetime | None = None) -> Appointment:
    """The practitioner (or a clinic secretary) records that the patient did
    not come, once the appointment has started and unless they were marked
    arrived; its time stays taken, and it opens no notebook."""
    return _mark(appointment_id, AppointmentStatus.NO_SHOW, by, now)


def mark_completed(appointment_id: int, *, by: User, now: dt.datetime | None = None) -> Appointment:
    """The practitioner (or a clinic secretary) records that the visit took
    place: once it started, or earlier if the patient was marked arrived."""
    return _mark(appointment_id, AppointmentStatus.COMPLETED, by, now)


# How long before its start a patient may be marked arrived (early in the waiting room).
ARRIVAL_EARLIEST = dt.timedelta(hours=2)


def mark_arrived(appointment_id: int, *, by: User, now: dt.datetime | None = None) -> Appointment:
    """The desk (the agenda's practitioner or a clinic secretary) records that
    the patient is in the waiting room: the visit has begun for the notebook
    (webapp.booking.visits). Only a booked appointment, from ARRIVAL_EARLIEST
    before its start on (409 otherwise); marking it again changes nothing."""
    now = now or now_utc()
    appointment = _desk_appointment(appointment_id, by)
    if appointment.arrived_at is not None:
        return appointment
    if now < appointment.start_at - ARRIVAL_EARLIEST:
        raise TooEarlyForArrival()
    appointment.arrived_at = now
    db.session.flush()
    record_event("appointment.arrived", actor=by, target_type="appointment", target_id=appointment.id,
                 details={"practitioner_id": appointment.practitioner_id, "patient_id": appointment.patient_id})
    return appointment


def with_parties(statement: sa.Select) -> sa.Select:
    return statement.options(
        joinedload(Appointment.practitioner), joinedload(Appointment.patient), joinedload(Appointment.visit_reason),
    )


def appointments_of(user: User, scope: str, *, now: dt.datetime | None = None) -> sa.Select:
    """The appointments a user follows: a patient's own and relatives', or
    those of the agendas a practitioner or staff member manages.

    `upcoming`: active ones not yet started, soonest first; `past`: the
    others (started, cancelled, done), latest first."""
    now = now or now_utc()
    if user.role is Role.PATIENT:
        condition = Appointment.patient_id.in_(acting_patient_ids(user))
    elif user.role in (Role.PRACTITIONER, Role.STAFF):
        condition = Appointment.practitioner_id.in_(desk_agenda_ids(user))
    else:
        raise Forbidden()
    statement = with_parties(sa.select(Appointment).where(condition))
    if scope == "upcoming":
        return statement.where(Appointment.start_at >= now, Appointment.status == AppointmentStatus.BOOKED).order_by(
            Appointment.start_at, Appointment.id)
    return statement.where(sa.or_(Appointment.start_at < now, Appointment.status != AppointmentStatus.BOOKED)).order_by(
        Appointment.start_at.desc(), Appointment.id.desc())


def local_day_bounds(timezone: str, first_day: dt.date, last_day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """From local midnight of `first_day` to local midnight after `last_day`, in UTC."""
    tz = zoneinfo.ZoneInfo(timezone)
    start = dt.datetime.combine(first_day, dt.time(), tz).astimezone(slot_rules.UTC)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tz).astimezone(slot_rules.UTC)
    return start, end


def agenda(user: User, practitioner_id: int, first_day: dt.date, last_day: dt.date) -> list[Appointment]:
    """A managed agenda between two local dates (both included), every status,
    with patients and reasons loaded in the same query."""
    practitioner = managed_practitioner(user, practitioner_id)
    check_date_range(first_day, last_day)
    start, end = local_day_bounds(schedule_of(practitioner.id).timezone, first_day, last_day)
    return list(db.session.scalars(with_parties(sa.select(Appointment).where(
        Appointment.practitioner_id == practitioner.id, Appointment.start_at < end, Appointment.end_at > start,
    )).order_by(Appointment.start_at, Appointment.id)))
