"""Booking rules: settings, slots, appointments, waiting list, calendar feeds.

Services flush but never commit; the caller wraps them in `transaction()`.
Signals (webapp.booking.signals) are sent inside that same unit of work.
"""

import datetime as dt
import functools
import hashlib
import secrets
import zoneinfo
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from webapp.accounts.identity_rules import identity_problems
from webapp.accounts.matching import folded_name
from webapp.accounts.models import ClinicRole, PatientProfile, PractitionerProfile, Role, User
from webapp.accounts.services import acting_patient_ids, clinic_ids_of, practitioner_user_ids_of_clinic
from webapp.accounts.verification import require_verified
from webapp.audit.services import record_event
from webapp.billing.bookability import bookable_condition, is_bookable
from webapp.booking import search, signals
from webapp.booking.hold_cells import active_holds_condition, release_expired_holds
from webapp.booking import slots as slot_rules
from webapp.booking.errors import (
    AppointmentNotActive,
    AppointmentNotStarted,
    BookingNotFound,
    CancellationDeadlinePassed,
    InvalidBookingData,
    NotASlotBoundary,
    NotBookableOnline,
    PatientArrived,
    PatientNotFound,
    PatientNotIdentified,
    ReasonNotForThisPatient,
    SlotUnavailable,
    TooEarlyForArrival,
    TooManyIdentificationFailures,
)
from webapp.booking.holidays import holiday_region
from webapp.booking.models import (
    CELL_MINUTES,
    MAX_VISIT_MINUTES,
    SCHEDULE_DEFAULTS,
    Absence,
    Appointment,
    AppointmentStatus,
    CalendarFeed,
    DeskIdentityFailure,
    OccupiedCell,
    PractitionerSchedule,
    SlotHold,
    VisitMode,
    VisitReason,
    WaitlistEntry,
    WaitlistStatus,
    WeeklyHours,
)
from webapp.booking.visits import (  # noqa: F401  (the visit rule, asked through this module)
    has_begun_visit,
    may_read_notebook,
    notebook_standing,
    readable_patient_ids,
    visit_has_begun,
)
from webapp.db import now_utc
from webapp.errors import Conflict, Forbidden, NotFound
from webapp.extensions import db

MAX_RANGE_DAYS = 62
MAX_BUFFER_MINUTES = 240
MAX_NOTICE_MINUTES = 30 * 24 * 60
MAX_CANCELLATION_DEADLINE_HOURS = 30 * 24
MAX_MESSAGE_LENGTH = 1000
# Search looks for the next availability in widening windows (days ahead), so
# a page of results costs the same few queries whatever its size.
NEXT_AVAILABLE_WINDOWS = (1, 7, 31, 92, 366)
FEED_PAST_DAYS = 30
NEVER = dt.datetime.max.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class PatientIdentity:
    """Who the desk says a patient is: the full name (first and last names, in
    either order) and the birth date. Compared with `_folded_name`."""

    full_name: str
    birth_date: dt.date

    @classmethod
    def of(cls, first_name: str, last_name: str, birth_date: dt.date) -> "PatientIdentity":
        return cls(f"{first_name} {last_name}", birth_date)


def _field_error(name: str, message) -> InvalidBookingData:
    return InvalidBookingData(fields={name: [str(message)]})


# --- Treating relationship (asked by the notebook, invitations, the DMP) -----

def treated_patient_ids(practitioner_id: int) -> sa.Select:
    """The patient profiles a practitioner has or had a non-cancelled
    appointment with (upcoming ones included), as a SELECT of ids to use in
    other queries: the practitioners a patient may revoke or hide entries
    from. Who may read the notebook is `readable_patient_ids`."""
    return (
        sa.select(Appointment.patient_id)
        .where(Appointment.practitioner_id == practitioner_id, Appointment.status != AppointmentStatus.CANCELLED)
        .distinct()
    )


@functools.cache
def _appointment_with_statement() -> sa.Select:
    return sa.select(sa.exists().where(
        Appointment.practitioner_id == sa.bindparam("practitioner_id", type_=sa.Integer),
        Appointment.patient_id == sa.bindparam("patient_id", type_=sa.Integer),
        Appointment.status != AppointmentStatus.CANCELLED,
    ))


def has_appointment_with(practitioner_id: int, patient_id: int) -> bool:
    """True when the practitioner has or had a non-cancelled appointment with
    this patient profile (past, upcoming, completed or missed): a returning
    patient, one the practice may invite. It opens no notebook."""
    return bool(db.session.scalar(_appointment_with_statement(),
                                  {"practitioner_id": practitioner_id, "patient_id": patient_id}))


def has_treating_relationship(practitioner_id: int, patient_id: int, *, now: dt.datetime | None = None) -> bool:
    """True when the practitioner treats the patient in the notebook's sense:
    a visit has begun, or the patient shared the notebook when booking
    (`webapp.booking.visits.may_read_notebook`). A booking alone, made by
    someone else, is not enough."""
    return may_read_notebook(practitioner_id, patient_id, now=now)


# --- Who manages which agenda -------------------------------------------------

def own_practitioner(user: User) -> PractitionerProfile:
    """The practitioner profile of a practitioner account; anyone else is refused."""
    if user.role is not Role.PRACTITIONER or user.practitioner_profile is None:
        raise Forbidden()
    return user.practitioner_profile


# A clinic's staff runs its practitioners' agendas and desk only as secretaries;
# an accountant's part is billing (webapp.billing.scope.back_office_scope).
AGENDA_CLINIC_ROLE = ClinicRole.SECRETARY


def managed_practitioners(user: User) -> list[PractitionerProfile]:
    """The agendas a user manages: a practitioner their own, a clinic
    secretary those of their clinic's practitioners. Only verified
    practitioners have one: a practitioner not verified is refused (403
    `practitioner_not_verified`), a secretary does not see those of her clinic.
    Anyone else (an accountant, the operator's staff, a patient) manages none."""
    if user.role is Role.PRACTITIONER and user.practitioner_profile is not None:
        require_verified(user.practitioner_profile)
        return [user.practitioner_profile]
    if user.role is Role.STAFF:
        user_ids = practitioner_user_ids_of_clinic(user, AGENDA_CLINIC_ROLE)
        return list(db.session.scalars(
            sa.select(PractitionerProfile).where(PractitionerProfile.user_id.in_(user_ids),
                                                 PractitionerProfile.is_verified)
            .order_by(PractitionerProfile.last_name, PractitionerProfile.first_name)
        ))
    return []


def can_manage_agenda(user: User, practitioner: PractitionerProfile) -> bool:
    """The practitioner themself, or a secretary of their clinic: the desk of
    this agenda (book, walk-ins, arrivals, cancellations, invitations)."""
    if user.role is Role.PRACTITIONER:
        return practitioner.user_id == user.id
    if user.role is Role.STAFF:
        return practitioner.user_id in practitioner_user_ids_of_clinic(user, AGENDA_CLINIC_ROLE)
    return False


def _no_such_practitioner() -> NotFound:
    return NotFound(_l("No such practitioner."))


def works_at_a_desk(user: User) -> bool:
    """Whether the user has an agenda and a desk at all (menus, pages): a
    verified practitioner, or a secretary of a clinic."""
    if user.role is Role.PRACTITIONER:
        return user.practitioner_profile is not None and user.practitioner_profile.is_verified
    return user.role is Role.STAFF and bool(clinic_ids_of(user, AGENDA_CLINIC_ROLE))


def get_practitioner(practitioner_id: int) -> PractitionerProfile:
    practitioner = db.session.get(PractitionerProfile, practitioner_id)
    if practitioner is None:
        raise _no_such_practitioner()
    return practitioner


def listed_practitioner(practitioner_id: int) -> PractitionerProfile:
    """A practitioner as the public sees them: only verified ones exist (404
    for the others, exactly as for an unknown id)."""
    practitioner = get_practitioner(practitioner_id)
    if not practitioner.is_verified:
        raise _no_such_practitioner()
    return practitioner


def managed_practitioner(user: User, practitioner_id: int) -> PractitionerProfile:
    """An agenda the user manages, for desk work: 403 for another agenda,
    and 403 `practitioner_not_verified` while its practitioner is not verified."""
    practitioner = get_practitioner(practitioner_id)
    if not can_manage_agenda(user, practitioner):
        raise Forbidden(_l("You do not manage this agenda."))
    require_verified(practitioner)
    return practitioner


# --- Settings: schedule, opening hours, absences, visit reasons ---------------

def schedule_of(practitioner_id: int) -> PractitionerSchedule:
    """The practitioner's booking rules; the defaults (not saved) if never set."""
    schedule = db.session.get(PractitionerSchedule, practitioner_id)
    return schedule or PractitionerSchedule(practitioner_id=practitioner_id, **SCHEDULE_DEFAULTS)


@functools.cache
def _schedules_statement() -> sa.Select:
    return sa.select(PractitionerSchedule).where(
        PractitionerSchedule.practitioner_id.in_(sa.bindparam("practitioner_ids", expanding=True)))


def schedules_of(practitioner_ids) -> dict[int, PractitionerSchedule]:
    """The booking rules of several practitioners in one query (defaults for those without)."""
    found = {row.practitioner_id: row for row in db.session.scalars(
        _schedules_statement(), {"practitioner_ids": list(set(practitioner_ids))})}
    return {pid: found.get(pid) or PractitionerSchedule(practitioner_id=pid, **SCHEDULE_DEFAULTS)
            for pid in practitioner_ids}


def weekly_hours_of(practitioner_id: int) -> list[WeeklyHours]:
    return list(db.session.scalars(
        sa.select(WeeklyHours).where(WeeklyHours.practitioner_id == practitioner_id)
        .order_by(WeeklyHours.weekday, WeeklyHours.start_time)
    ))


@functools.cache
def known_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _is_on_cell_grid(time: dt.time) -> bool:
    return time.second == 0 and time.microsecond == 0 and time.minute % CELL_MINUTES == 0


def weekly_hours_problems(weekly: list[dict]) -> list[str]:
    """Why a set of weekly ranges is refused: bad bounds or overlaps on a day."""
    problems = []
    by_day: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for item in weekly:
        weekday, start, end = item["weekday"], item["start"], item["end"]
        if not 0 <= weekday <= 6:
            problems.append(str(_l("A weekday is a number from 0 (Monday) to 6 (Sunday).")))
        elif start >= end:
            problems.append(str(_l("A range must end after it starts (%(start)s–%(end)s).",
                                   start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))))
        elif not (_is_on_cell_grid(start) and _is_on_cell_grid(end)):
            problems.append(str(_l("Opening hours use multiples of %(minutes)d minutes.", minutes=CELL_MINUTES)))
        else:
            by_day.setdefault(weekday, []).append((start, end))
    for weekday, ranges in sorted(by_day.items()):
        ranges.sort()
        for (_, previous_end), (start, _) in zip(ranges, ranges[1:]):
            if start < previous_end:
                problems.append(str(_l("Two ranges overlap on the same day (weekday %(weekday)d).", weekday=weekday)))
                break
    return problems


def _schedule_problems(values: dict) -> dict[str, list[str]]:
    limits = {
        "min_notice_minutes": (0, MAX_NOTICE_MINUTES),
        "horizon_days": (1, 365),
        "buffer_minutes": (0, MAX_BUFFER_MINUTES),
        "cancellation_deadline_hours": (0, MAX_CANCELLATION_DEADLINE_HOURS),
    }
    errors = {}
    if values["timezone"] not in known_timezones():
        errors["timezone"] = [str(_l("Unknown timezone."))]
    for name, (low, high) in limits.items():
        if not low <= values[name] <= high:
            errors[name] = [str(_l("Must be between %(low)d and %(high)d.", low=low, high=high))]
    step = values.get("slot_step_minutes")
    if step is not None and (step <= 0 or step > 480 or step % CELL_MINUTES):
        errors["slot_step_minutes"] = [str(_l("A positive multiple of %(minutes)d minutes, at most 480.",
                                              minutes=CELL_MINUTES))]
    return errors


def update_schedule(user: User, *, weekly: list[dict], **values) -> PractitionerSchedule:
    """Replace the practitioner's booking rules and weekly opening hours.

    `weekly` items are `{weekday, start, end}` (local times); several ranges
    a day make breaks, but ranges of one day must not overlap."""
    practitioner = own_practitioner(user)
    values = {name: values.get(name, default) for name, default in SCHEDULE_DEFAULTS.items()}
    errors = _schedule_problems(values)
    if problems := weekly_hours_problems(weekly):
        errors["weekly"] = problems
    if errors:
        raise InvalidBookingData(fields=errors)
    schedule = db.session.get(PractitionerSchedule, practitioner.id)
    if schedule is None:
        schedule = PractitionerSchedule(practitioner_id=practitioner.id)
        db.session.add(schedule)
    for name, value in values.items():
        setattr(schedule, name, value)
    db.session.execute(sa.delete(WeeklyHours).where(WeeklyHours.practitioner_id == practitioner.id))
    db.session.add_all(
        WeeklyHours(practitioner_id=practitioner.id, weekday=item["weekday"], start_time=item["start"],
                    end_time=item["end"])
        for item in weekly
    )
    db.session.flush()
    return schedule


def upcoming_absences(practitioner_id: int, *, now: dt.datetime | None = None) -> list[Absence]:
    return list(db.session.scalars(
        sa.select(Absence).where(Absence.practitioner_id == practitioner_id, Absence.end_at > (now or now_utc()))
        .order_by(Absence.start_at)
    ))


def add_absence(user: User, *, start_at: dt.datetime, end_at: dt.datetime, reason: str = "") -> Absence:
    """An absence removes every slot it touches; booked appointments stay
    (the practitioner cancels them with a reason if needed)."""
    practitioner = own_practitioner(user)
    if end_at <= start_at:
        raise _field_error("end", _l("The end must come after the start."))
    absence = Absence(practitioner_id=practitioner.id, start_at=start_at, end_at=end_at, reason=(reason or "").strip())
    db.session.add(absence)
    db.session.flush()
    return absence


def delete_absence(user: User, absence_id: int) -> None:
    practitioner = own_practitioner(user)
    absence = db.session.get(Absence, absence_id)
    if absence is None or absence.practitioner_id != practitioner.id:
        raise NotFound()
    db.session.delete(absence)
    db.session.flush()


def visit_reasons_of(practitioner_id: int, *, include_archived: bool = False) -> list[VisitReason]:
    statement = sa.select(VisitReason).where(VisitReason.practitioner_id == practitioner_id)
    if not include_archived:
        statement = statement.where(VisitReason.archived_at.is_(None))
    return list(db.session.scalars(statement.order_by(VisitReason.archived_at.is_not(None), VisitReason.id)))


def _visit_reason_problems(values: dict) -> dict[str, list[str]]:
    errors = {}
    if "label" in values and not (values["label"] or "").strip():
        errors["label"] = [str(_l("A label is required."))]
    duration = values.get("duration_minutes")
    if duration is not None and (duration <= 0 or duration > MAX_VISIT_MINUTES or duration % CELL_MINUTES):
        errors["duration_minutes"] = [str(_l("A positive multiple of %(minutes)d minutes, at most 480.",
                                             minutes=CELL_MINUTES))]
    if values.get("price_cents") is not None and values["price_cents"] < 0:
        errors["price_cents"] = [str(_l("A price cannot be negative."))]
    return errors


VISIT_REASON_FIELDS = ("label", "duration_minutes", "price_cents", "new_patients", "returning_patients", "mode",
                       "shown_in_messages")


def create_visit_reason(user: User, *, label: str, duration_minutes: int, price_cents: int,
                        new_patients: bool = True, returning_patients: bool = True,
                        mode: VisitMode = VisitMode.IN_PERSON, shown_in_messages: bool = False) -> VisitReason:
    """A new visit reason; at least one of new or returning patients may book it.
    Its label leaves Carnet (mails, SMS, calendars) only if `shown_in_messages`."""
    practitioner = own_practitioner(user)
    reason = VisitReason(practitioner_id=practitioner.id)
    return _apply_visit_reason(reason, dict(
        label=label, duration_minutes=duration_minutes, price_cents=price_cents,
        new_patients=new_patients, returning_patients=returning_patients, mode=VisitMode(mode),
        shown_in_messages=bool(shown_in_messages),
    ))


def _apply_visit_reason(reason: VisitReason, values: dict) -> VisitReason:
    errors = _visit_reason_problems(values)
    merged = {name: values.get(name, getattr(reason, name)) for name in ("new_patients", "returning_patients")}
    if merged["new_patients"] is False and merged["returning_patients"] is False:
        errors["new_patients"] = [str(_l("New patients, returning patients or both must be able to book it."))]
    if errors:
        raise InvalidBookingData(fields=errors)
    for name, value in values.items():
        setattr(reason, name, value.strip() if name == "label" else value)
    db.session.add(reason)
    db.session.flush()
    return reason


def _own_visit_reason(user: User, reason_id: int) -> VisitReason:
    practitioner = own_practitioner(user)
    reason = db.session.get(VisitReason, reason_id)
    if reason is None or reason.practitioner_id != practitioner.id:
        raise NotFound()
    return reason


def update_visit_reason(user: User, reason_id: int, **changes) -> VisitReason:
    """Change a visit reason; booked appointments keep their times."""
    reason = _own_visit_reason(user, reason_id)
    values = {name: value for name, value in changes.items() if name in VISIT_REASON_FIELDS}
    if "mode" in values:
        values["mode"] = VisitMode(values["mode"])
    return _apply_visit_reason(reason, values)


def archive_visit_reason(user: User, reason_id: int) -> VisitReason:
    """Archive instead of delete: appointments keep pointing at it, patients no longer see it."""
    reason = _own_visit_reason(user, reason_id)
    if reason.archived_at is None:
        reason.archived_at = now_utc()
    db.session.flush()
    return reason


def restore_visit_reason(user: User, reason_id: int) -> VisitReason:
    reason = _own_visit_reason(user, reason_id)
    reason.archived_at = None
    db.session.flush()
    return reason


# --- Availability --------------------------------------------------------------

@dataclass
class Availability:
    """Everything slot computation needs for one practitioner over a window."""

    schedule: PractitionerSchedule
    rules: slot_rules.Rules
    opening: slot_rules.OpeningRanges
    absences: list[tuple[dt.datetime, dt.datetime]]
    appointments: list[tuple[dt.datetime, dt.datetime]]

    def busy(self) -> slot_rules.BusyTimes:
        return slot_rules.busy_times(self.rules, self.absences, self.appointments)

    def free_slots(self, first_day: dt.date, last_day: dt.date, duration_minutes: int, now: dt.datetime,
                   limit: int | None = None) -> list[slot_rules.Slot]:
        return slot_rules.free_slots(
            rules=self.rules, opening=self.opening, busy=self.busy(), first_day=first_day, last_day=last_day,
            duration_minutes=duration_minutes, now=now, limit=limit,
        )


def rules_of(schedule: PractitionerSchedule, *, at_desk: bool = False,
             postcode: str | None = None) -> slot_rules.Rules:
    """Online bookings obey notice, horizon and buffer; the desk may overrule
    them. The public holidays are those at the practice's `postcode`."""
    return slot_rules.Rules(
        timezone=zoneinfo.ZoneInfo(schedule.timezone),
        min_notice=dt.timedelta(minutes=0 if at_desk else schedule.min_notice_minutes),
        horizon_days=365 if at_desk else schedule.horizon_days,
        buffer=dt.timedelta(minutes=0 if at_desk else schedule.buffer_minutes),
        closed_on_public_holidays=schedule.closed_on_public_holidays,
        step_minutes=schedule.slot_step_minutes,
        holiday_region=holiday_region(postcode),
    )


def _utc_window(first_day: dt.date, last_day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    # Two days of margin cover every UTC offset and the longest buffer.
    return (dt.datetime.combine(first_day - dt.timedelta(days=2), dt.time(), slot_rules.UTC),
            dt.datetime.combine(last_day + dt.timedelta(days=2), dt.time(), slot_rules.UTC))


# The kinds of rows of the availability query.
_HOURS, _ABSENCE, _APPOINTMENT, _PLACE = 1, 2, 3, 4


@functools.cache
def _availability_statement(*, ignores_appointment: bool) -> sa.Select:
    """The query of `load_availability`, built once with bound parameters
    (building it costs more than running it): weekly hours, absences and
    appointments of the practitioners, and their postcodes (for the local
    public holidays), in one round trip, as rows of one shape told apart by `kind`.
    Slot holds that have not expired count as appointments."""
    practitioner_ids = sa.bindparam("practitioner_ids", expanding=True)
    window_start = sa.bindparam("window_start", type_=Appointment.start_at.type)
    window_end = sa.bindparam("window_end", type_=Appointment.end_at.type)
    earliest_overlapping_start = sa.bindparam("earliest_overlapping_start", type_=Appointment.start_at.type)
    appointment_filter = [
        Appointment.practitioner_id.in_(practitioner_ids), Appointment.status != AppointmentStatus.CANCELLED,
        Appointment.start_at < window_end, Appointment.end_at > window_start,
        # Redundant with the line above, but bounds the index range on
        # (practitioner_id, start_at): without it the scan reads all the past.
        Appointment.start_at > earliest_overlapping_start,
    ]
    if ignores_appointment:
        appointment_filter.append(Appointment.id != sa.bindparam("ignore_appointment_id", type_=sa.Integer))
    time_type, instant_type = WeeklyHours.start_time.type, Appointment.start_at.type
    no_time, no_instant = sa.cast(sa.null(), time_type), sa.cast(sa.null(), instant_type)
    no_postcode = sa.cast(sa.null(), PractitionerProfile.postcode.type)
    hold_filter = [
        SlotHold.practitioner_id.in_(practitioner_ids), active_holds_condition(sa.bindparam("now", type_=instant_type)),
        SlotHold.start_at < window_end, SlotHold.end_at > window_start,
    ]
    rows = sa.union_all(
        sa.select(sa.literal(_HOURS, sa.Integer).label("kind"), WeeklyHours.practitioner_id, WeeklyHours.weekday,
                  WeeklyHours.start_time, WeeklyHours.end_time, no_instant.label("start_at"),
                  no_instant.label("end_at"), no_postcode.label("postcode"))
        .where(WeeklyHours.practitioner_id.in_(practitioner_ids)),
        sa.select(sa.literal(_ABSENCE, sa.Integer), Absence.practitioner_id, sa.null(), no_time, no_time,
                  Absence.start_at, Absence.end_at, no_postcode)
        .where(Absence.practitioner_id.in_(practitioner_ids), Absence.start_at < window_end,
               Absence.end_at > window_start),
        sa.select(sa.literal(_APPOINTMENT, sa.Integer), Appointment.practitioner_id, sa.null(), no_time, no_time,
                  Appointment.start_at, Appointment.end_at, no_postcode).where(*appointment_filter),
        # A hold not yet expired keeps its time from everyone else, like an appointment.
        sa.select(sa.literal(_APPOINTMENT, sa.Integer), SlotHold.practitioner_id, sa.null(), no_time, no_time,
                  SlotHold.start_at, SlotHold.end_at, no_postcode).where(*hold_filter),
        sa.select(sa.literal(_PLACE, sa.Integer), PractitionerProfile.id, sa.null(), no_time, no_time,
                  no_instant, no_instant, PractitionerProfile.postcode)
        .where(PractitionerProfile.id.in_(practitioner_ids)),
    ).subquery()
    # Through a UNION the columns lose their types; give them back for the results.
    return sa.select(rows.c.kind, rows.c.practitioner_id, rows.c.weekday,
                     sa.type_coerce(rows.c.start_time, time_type), sa.type_coerce(rows.c.end_time, time_type),
                     sa.type_coerce(rows.c.start_at, instant_type), sa.type_coerce(rows.c.end_at, instant_type),
                     rows.c.postcode)


def load_availability(practitioner_ids: list[int], first_day: dt.date, last_day: dt.date, *, at_desk: bool = False,
                      ignore_appointment_id: int | None = None,
                      schedules: dict[int, PractitionerSchedule] | None = None,
                      now: dt.datetime | None = None) -> dict[int, Availability]:
    """Schedules, hours, absences and busy times of several practitioners in
    two queries, whatever their number (one when the caller already holds
    their `schedules`)."""
    window_start, window_end = _utc_window(first_day, last_day)
    if schedules is None:
        schedules = schedules_of(practitioner_ids)
    opening: dict[int, dict[int, list]] = {pid: {} for pid in practitioner_ids}
    absences: dict[int, list] = {pid: [] for pid in practitioner_ids}
    busy: dict[int, list] = {pid: [] for pid in practitioner_ids}
    postcodes: dict[int, str | None] = {}
    parameters = {"practitioner_ids": list(practitioner_ids), "window_start": window_start, "window_end": window_end,
                  "earliest_overlapping_start": window_start - dt.timedelta(minutes=MAX_VISIT_MINUTES),
                  "now": now or now_utc()}
    if ignore_appointment_id is not None:
        parameters["ignore_appointment_id"] = ignore_appointment_id
    statement = _availability_statement(ignores_appointment=ignore_appointment_id is not None)
    for kind, pid, weekday, start_time, end_time, start_at, end_at, postcode in db.session.execute(statement,
                                                                                                     parameters):
        if kind == _HOURS:
            opening[pid].setdefault(weekday, []).append((start_time, end_time))
        elif kind == _PLACE:
            postcodes[pid] = postcode
        else:
            (absences if kind == _ABSENCE else busy)[pid].append((start_at, end_at))
    return {
        pid: Availability(schedules[pid], rules_of(schedules[pid], at_desk=at_desk, postcode=postcodes.get(pid)),
                          opening[pid], absences[pid], busy[pid])
        for pid in practitioner_ids
    }


def check_date_range(first_day: dt.date, last_day: dt.date) -> None:
    """A range of local dates, both included, of at most MAX_RANGE_DAYS days."""
    if last_day < first_day:
        raise _field_error("to", _l("The end date is before the start date."))
    if (last_day - first_day).days + 1 > MAX_RANGE_DAYS:
        raise _field_error("to", _l("At most %(days)d days at a time.", days=MAX_RANGE_DAYS))


def reason_for_booking(practitioner_id: int, visit_reason_id: int | None) -> VisitReason:
    """An active visit reason of this practitioner, or a 422 on `visit_reason_id`."""
    reason = db.session.get(VisitReason, visit_reason_id) if visit_reason_id is not None else None
    return _offered_reason(reason, practitioner_id)


def _offered_reason(reason: VisitReason | None, practitioner_id: int) -> VisitReason:
    if reason is None or reason.practitioner_id != practitioner_id or reason.is_archived:
        raise _field_error("visit_reason_id", _l("Choose one of this practitioner's visit reasons."))
    return reason


@functools.cache
def _booking_request_statement() -> sa.Select:
    # Built once, like billing's `is_bookable`: its correlated EXISTS cost more to build than to run.
    reason_matches = sa.and_(VisitReason.id == sa.bindparam("visit_reason_id", type_=sa.Integer),
                             VisitReason.practitioner_id == PractitionerProfile.id)
    return (sa.select(PractitionerProfile, VisitReason, bookable_condition(PractitionerProfile.id),
                      PractitionerSchedule)
            .outerjoin(VisitReason, reason_matches)
            .outerjoin(PractitionerSchedule, PractitionerSchedule.practitioner_id == PractitionerProfile.id)
            .where(PractitionerProfile.id == sa.bindparam("practitioner_id", type_=sa.Integer)))


class _BookingRequest(NamedTuple):
    practitioner: PractitionerProfile
    reason: VisitReason | None
    bookable: bool
    schedules: dict[int, PractitionerSchedule]  # the practitioner's, for `load_availability`


def _booking_request(practitioner_id: int, visit_reason_id: int | None) -> _BookingRequest:
    """In one query: the practitioner (404 if there is none), their reason
    `visit_reason_id` if it is one of theirs, whether they are bookable
    online, and their booking rules."""
    row = db.session.execute(_booking_request_statement(),
                             {"practitioner_id": practitioner_id, "visit_reason_id": visit_reason_id}).first()
    if row is None:
        raise _no_such_practitioner()
    practitioner, reason, bookable, schedule = row
    schedule = schedule or PractitionerSchedule(practitioner_id=practitioner.id, **SCHEDULE_DEFAULTS)
    return _BookingRequest(practitioner, reason, bool(bookable), {practitioner.id: schedule})


def _free_slots_and_timezone(practitioner_id: int, visit_reason_id: int | None, first_day: dt.date,
                             last_day: dt.date, now: dt.datetime | None,
                             ) -> tuple[list[slot_rules.Slot], zoneinfo.ZoneInfo | None]:
    practitioner, reason, bookable, schedules = _booking_request(practitioner_id, visit_reason_id)
    if not practitioner.is_verified:
        raise _no_such_practitioner()
    check_date_range(first_day, last_day)
    _offered_reason(reason, practitioner_id)
    if not bookable:
        return [], None
    now = now or now_utc()
    availability = load_availability([practitioner_id], first_day, last_day,
                                     schedules=schedules, now=now)[practitioner_id]
    return (availability.free_slots(first_day, last_day, reason.duration_minutes, now),
            availability.rules.timezone)


def available_slots(practitioner_id: int, visit_reason_id: int | None, first_day: dt.date, last_day: dt.date, *,
                    now: dt.datetime | None = None) -> list[slot_rules.Slot]:
    """Free slots for a visit reason between two local dates (both included).

    A practitioner who is not bookable online (billing) has none; one who
    is not verified does not exist for the public (404)."""
    return _free_slots_and_timezone(practitioner_id, visit_reason_id, first_day, last_day, now)[0]


def available_local_times(practitioner_id: int, visit_reason_id: int | None, first_day: dt.date, last_day: dt.date,
                          *, now: dt.datetime | None = None) -> list[tuple[dt.datetime, dt.datetime]]:
    """The slots of `available_slots`, as (start, end) in the practitioner's timezone."""
    slots, tz = _free_slots_and_timezone(practitioner_id, visit_reason_id, first_day, last_day, now)
    return [(slot.start_at.astimezone(tz), slot.end_at.astimezone(tz)) for slot in slots]


def desk_slots(user: User, practitioner_id: int, visit_reason_id: int | None, first_day: dt.date,
               last_day: dt.date, *, now: dt.datetime | None = None) -> list[slot_rules.Slot]:
    """Free slots as the desk sees them (no notice, horizon or buffer), for
    the agendas the user manages."""
    practitioner = managed_practitioner(user, practitioner_id)
    check_date_range(first_day, last_day)
    reason = reason_for_booking(practitioner.id, visit_reason_id)
    availability = load_availability([practitioner.id], first_day, last_day, at_desk=True)[practitioner.id]
    return availability.free_slots(first_day, last_day, reason.duration_minutes, now or now_utc())


def next_available_starts(practitioner_ids: list[int], *, now: dt.datetime | None = None) -> dict[int, dt.datetime | None]:
    """The first bookable start of each practitioner (any active visit
    reason), in a constant number of queries for any number of practitioners."""
    now = now or now_utc()
    result: dict[int, dt.datetime | None] = {pid: None for pid in practitioner_ids}
    durations: dict[int, set[int]] = {}
    for pid, duration in db.session.execute(
        sa.select(VisitReason.practitioner_id, VisitReason.duration_minutes).where(
            VisitReason.practitioner_id.in_(practitioner_ids), VisitReason.archived_at.is_(None))
    ):
        durations.setdefault(pid, set()).add(duration)
    remaining = sorted(durations)
    today = now.date()
    first_day = today - dt.timedelta(days=1)
    for window_days in NEXT_AVAILABLE_WINDOWS:
        if not remaining:
            break
        last_day = today + dt.timedelta(days=window_days)
        availabilities = load_availability(remaining, first_day, last_day, now=now)
        for pid in list(remaining):
            starts = [slot.start_at
                      for duration in durations[pid]
                      for slot in availabilities[pid].free_slots(first_day, last_day, duration, now, limit=1)]
            if starts:
                result[pid] = min(starts)
                remaining.remove(pid)
        first_day = last_day
    return result


def _check_start(availability: Availability, reason: VisitReason, start_at: dt.datetime, now: dt.datetime) -> None:
    """422 when `start_at` falls inside an opening range but off its grid;
    409 when it is a grid start that is not free now, or lies outside the hours."""
    tz = availability.rules.timezone
    utc_start = start_at.astimezone(slot_rules.UTC)
    if utc_start.second or utc_start.microsecond or utc_start.minute % CELL_MINUTES:
        raise NotASlotBoundary(fields={"start": [str(NotASlotBoundary.default_message)]})
    day = utc_start.astimezone(tz).date()
    ranges = availability.opening.get(day.weekday(), [])
    grid = slot_rules.grid_starts(day, ranges, reason.duration_minutes, availability.rules.step_minutes, tz)
    if utc_start not in {slot.start_at for slot in grid}:
        wall = utc_start.astimezone(tz).replace(tzinfo=None)
        step = dt.timedelta(minutes=availability.rules.step_minutes or reason.duration_minutes)
        for start, end in ranges:
            range_start = dt.datetime.combine(day, start)
            if range_start <= wall < dt.datetime.combine(day, end) and (wall - range_start) % step:
                raise NotASlotBoundary(fields={"start": [str(NotASlotBoundary.default_message)]})
        raise SlotUnavailable()
    free = availability.free_slots(day, day, reason.duration_minutes, now)
    if utc_start not in {slot.start_at for slot in free}:
        raise SlotUnavailable()


# --- Appointments ------------------------------------------------------------------

def occupied_cells_for(practitioner_id: int, start_at: dt.datetime, end_at: dt.datetime) -> list[OccupiedCell]:
    """The cells an appointment from `start_at` to `end_at` holds."""
    cell = dt.timedelta(minutes=CELL_MINUTES)
    count = (end_at - start_at) // cell
    return [OccupiedCell(practitioner_id=practitioner_id, cell_start_at=start_at + index * cell) for index in range(count)]


def _hold_time(appointment: Appointment) -> None:
    """Write the appointment's cells; the database refuses any overlap.
    Expired slot holds in the way give their time back first."""
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
        raise _field_error("message", _l("At most %(count)d characters.", count=MAX_MESSAGE_LENGTH))
    return message or None


def _no_such_patient() -> NotFound:
    message = _l("No such patient.")
    return NotFound(message, fields={"patient_id": [str(message)]})


def _sender():
    return current_app._get_current_object()


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
        raise _field_error("patient_id", _l("Choose the patient."))
    if share_notebook_ahead:
        raise _field_error("share_notebook_ahead", _l("Only the patient side can share the notebook ahead."))


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
    practitioner, reason, bookable, schedules = _booking_request(practitioner_id, visit_reason_id)
    at_desk = by.role in (Role.PRACTITIONER, Role.STAFF)
    patient = None
    if at_desk:
        _check_desk_request(by, practitioner, patient_id, patient_identity, share_notebook_ahead)
    elif by.role is Role.PATIENT:
        if not practitioner.is_verified:
            raise _no_such_practitioner()
        own_profile = by.patient_profile
        if own_profile is not None and patient_id in (None, own_profile.id):
            patient = own_profile  # their own profile: no need to look up the relatives they act for
        elif patient_id in acting_patient_ids(by):
            patient = db.session.get(PatientProfile, patient_id)
        else:
            raise _no_such_patient()
    else:
        raise Forbidden()
    reason = _offered_reason(reason, practitioner.id)
    message = _clean_message(message)
    if not at_desk:
        if not bookable:
            raise NotBookableOnline()
        _check_reason_open_to(reason, patient.id)
    day = start_at.astimezone(slot_rules.UTC).date()
    availability = load_availability([practitioner.id], day, day, at_desk=at_desk,
                                     schedules=schedules, now=now)[practitioner.id]
    _check_start(availability, reason, start_at, now)
    if at_desk:
        patient = _desk_booking_patient(by, practitioner, patient_id, patient_identity, now)
    appointment = Appointment(
        practitioner_id=practitioner.id, patient_id=patient.id, visit_reason_id=reason.id,
        start_at=start_at.astimezone(slot_rules.UTC),
        end_at=start_at.astimezone(slot_rules.UTC) + dt.timedelta(minutes=reason.duration_minutes),
        status=AppointmentStatus.BOOKED, message=message, booked_by_user_id=by.id, booked_at_desk=at_desk,
        shares_notebook_ahead=bool(share_notebook_ahead) and not at_desk, created_at=now,
    )
    _hold_time(appointment)
    _close_waitlist_entries_served_by(appointment)
    signals.appointment_booked.send(_sender(), appointment=appointment, actor=by)
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
    practitioner, reason, _, _ = _booking_request(practitioner_id, visit_reason_id)
    _check_desk_request(by, practitioner, patient_id, patient_identity, False)
    reason = _offered_reason(reason, practitioner.id)
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
    _hold_time(appointment)
    _close_waitlist_entries_served_by(appointment)
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


def _check_patient_deadline(appointment: Appointment, now: dt.datetime) -> None:
    hours = schedule_of(appointment.practitioner_id).cancellation_deadline_hours
    if now > appointment.start_at - dt.timedelta(hours=hours):
        raise CancellationDeadlinePassed()


def patient_deadline_of(appointment: Appointment) -> dt.datetime:
    """Until when the patient side may cancel or move the appointment online."""
    hours = schedule_of(appointment.practitioner_id).cancellation_deadline_hours
    return appointment.start_at - dt.timedelta(hours=hours)


def _changeable_by(user: User, appointment_id: int, now: dt.datetime) -> tuple[Appointment, bool]:
    """The active appointment and whether the user acts at the desk."""
    appointment = appointment_for(user, appointment_id)
    if appointment.status is not AppointmentStatus.BOOKED:
        raise AppointmentNotActive()
    at_desk = can_manage_agenda(user, appointment.practitioner)
    if at_desk:
        require_verified(appointment.practitioner)
    else:
        _check_patient_deadline(appointment, now)
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
        raise _field_error("reason", _l("Give the patient a reason for the cancellation."))
    if len(reason) > 500:
        raise _field_error("reason", _l("At most %(count)d characters.", count=500))
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = appointment.status_changed_at = now
    appointment.cancelled_by_user_id = by.id
    appointment.cancel_reason = reason or None
    appointment.ics_sequence += 1
    _release_time(appointment)
    signals.appointment_cancelled.send(_sender(), appointment=appointment, actor=by, reason=reason or None)
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
                                     ignore_appointment_id=appointment.id, now=now)[appointment.practitioner_id]
    _check_start(availability, appointment.visit_reason, new_start_at, now)
    _release_time(appointment)
    appointment.start_at = new_start_at.astimezone(slot_rules.UTC)
    appointment.end_at = appointment.start_at + dt.timedelta(minutes=appointment.visit_reason.duration_minutes)
    appointment.rescheduled_count += 1
    appointment.ics_sequence += 1
    appointment.status_changed_at = now
    _hold_time(appointment)
    signals.appointment_rescheduled.send(_sender(), appointment=appointment, actor=by,
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


def _with_parties(statement: sa.Select) -> sa.Select:
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
        condition = Appointment.practitioner_id.in_(_desk_agenda_ids(user))
    else:
        raise Forbidden()
    statement = _with_parties(sa.select(Appointment).where(condition))
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
    return list(db.session.scalars(_with_parties(sa.select(Appointment).where(
        Appointment.practitioner_id == practitioner.id, Appointment.start_at < end, Appointment.end_at > start,
    )).order_by(Appointment.start_at, Appointment.id)))


# --- Desk patients -------------------------------------------------------------------

def create_desk_patient(by: User, *, practitioner_id: int, first_name: str, last_name: str, birth_date: dt.date,
                        email: str | None = None, phone: str | None = None) -> PatientProfile:
    """A patient profile created at the desk of an agenda the user manages,
    without an account (it can be claimed later); it needs a way to reach the
    patient (email or phone). The practice knows the patient from then on.
    Names and birth date follow `accounts.identity_rules`."""
    practitioner = managed_practitioner(by, practitioner_id)
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    email, phone = (email or "").strip().lower() or None, (phone or "").strip() or None
    errors = identity_problems(first_name=first_name, last_name=last_name, birth_date=birth_date)
    if not email and not phone:
        errors["email"] = [str(_l("Give an email address or a phone number."))]
    if errors:
        raise InvalidBookingData(fields=errors)
    profile = PatientProfile(first_name=first_name, last_name=last_name, birth_date=birth_date, email=email, phone=phone,
                             desk_practitioner_id=practitioner.id)
    db.session.add(profile)
    db.session.flush()
    return profile


def _desk_agenda_ids(by: User) -> list[int]:
    """The agendas whose desk the user works at; 403 for anyone without one
    (patients, accountants, the operator's staff)."""
    if by.role not in (Role.PRACTITIONER, Role.STAFF):
        raise Forbidden()
    agenda_ids = [practitioner.id for practitioner in managed_practitioners(by)]
    if not agenda_ids:
        raise Forbidden()
    return agenda_ids


def _known_to_practice(agenda_ids: list[int]) -> sa.ColumnElement[bool]:
    """Patient profiles these agendas have already met: created at their desk
    or with an appointment there (any status)."""
    return sa.or_(
        PatientProfile.desk_practitioner_id.in_(agenda_ids),
        sa.exists().where(Appointment.patient_id == PatientProfile.id, Appointment.practitioner_id.in_(agenda_ids)),
    )


def _has_full_name(profile: PatientProfile, text: str) -> bool:
    first, last = folded_name(profile.first_name), folded_name(profile.last_name)
    return folded_name(text) in (f"{first} {last}", f"{last} {first}")


# --- Desk identification: failures counted per account over a window -----------

def _identification_window(now: dt.datetime) -> tuple[int, dt.datetime]:
    config = current_app.config
    return (config["CARNET_DESK_IDENTIFICATION_MAX_FAILURES"],
            now - dt.timedelta(minutes=config["CARNET_DESK_IDENTIFICATION_WINDOW_MINUTES"]))


def check_identification_allowed(by: User, *, now: dt.datetime | None = None) -> None:
    """429 once the account's identifications that matched no one reach the
    limit within the window (`CARNET_DESK_IDENTIFICATION_*`)."""
    limit, since = _identification_window(now or now_utc())
    failures = db.session.scalar(sa.select(sa.func.count(DeskIdentityFailure.id)).where(
        DeskIdentityFailure.user_id == by.id, DeskIdentityFailure.failed_at > since))
    if failures >= limit:
        raise TooManyIdentificationFailures()


def _count_identification_failure(by: User, practitioner_id: int, now: dt.datetime) -> None:
    """Count and audit (ids only) an identification that matched no one."""
    db.session.add(DeskIdentityFailure(user_id=by.id, failed_at=now))
    record_event("desk.identity_failed", actor=by, target_type="practitioner_profile", target_id=practitioner_id)


def _identification_failed(by: User, practitioner_id: int, now: dt.datetime) -> PatientNotIdentified:
    """The error of a failed identification, counted; it keeps these writes."""
    _count_identification_failure(by, practitioner_id, now)
    return PatientNotIdentified(fields={"patient": [str(PatientNotIdentified.default_message)]})


def _profiles_with_identity(identity: PatientIdentity, *, patient_id: int | None = None) -> list[PatientProfile]:
    statement = sa.select(PatientProfile).where(PatientProfile.birth_date == identity.birth_date)
    if patient_id is not None:
        statement = statement.where(PatientProfile.id == patient_id)
    return [profile for profile in db.session.scalars(statement.order_by(PatientProfile.id))
            if _has_full_name(profile, identity.full_name)]


def identify_patient(by: User, identity: PatientIdentity, *, practitioner_id: int, patient_id: int | None = None,
                     now: dt.datetime | None = None) -> PatientProfile:
    """The one patient profile with this identity (and this id, if given), for
    the desk of agenda `practitioner_id`. No profile, or several, is a 404
    `patient_not_found` that is counted and audited; past the limit, 429."""
    now = now or now_utc()
    check_identification_allowed(by, now=now)
    profiles = _profiles_with_identity(identity, patient_id=patient_id)
    if len(profiles) != 1:
        raise _identification_failed(by, practitioner_id, now)
    return profiles[0]


def find_patients(by: User, text: str, *, birth_date: dt.date | None = None, limit: int = 20,
                  now: dt.datetime | None = None) -> list[PatientProfile]:
    """Patients for desk booking by a practitioner or a clinic secretary.

    Patients known to the practice match when their names contain every word
    of `text` (at least 2 letters). Anyone else is found only by identity:
    their full name (first and last, in either order) and birth date, so a
    desk cannot browse the instance's patients. A search with a birth date
    that finds no one born that day is a failed identification: counted,
    audited and limited as at booking (the caller commits it)."""
    agenda_ids = _desk_agenda_ids(by)
    words = [word for word in (text or "").split() if len(word) >= 2]
    if not words:
        return []
    if birth_date is not None:
        check_identification_allowed(by, now=now)
    statement = sa.select(PatientProfile).where(_known_to_practice(agenda_ids))
    for word in words:
        statement = statement.where(sa.or_(
            PatientProfile.first_name.icontains(word, autoescape=True),
            PatientProfile.last_name.icontains(word, autoescape=True),
        ))
    order = (PatientProfile.last_name, PatientProfile.first_name, PatientProfile.id)
    known = list(db.session.scalars(statement.order_by(*order).limit(limit)))
    if birth_date is None:
        return known
    known_ids = {profile.id for profile in known}
    identified = [profile for profile in _profiles_with_identity(PatientIdentity(text, birth_date))
                  if profile.id not in known_ids]
    found = known + identified[:limit - len(known)]
    if not any(profile.birth_date == birth_date for profile in found):
        _count_identification_failure(by, agenda_ids[0], now or now_utc())
    return found


def desk_patient(by: User, patient_id: int, *, identity: PatientIdentity | None = None,
                 practitioner_id: int | None = None, now: dt.datetime | None = None) -> PatientProfile:
    """A patient the user may book for at the desk: known to the practice, or
    reached by their full `identity` (see `identify_patient`). An unknown
    patient without identity is a 404 whether the profile exists or not."""
    agenda_ids = _desk_agenda_ids(by)
    patient = db.session.scalar(sa.select(PatientProfile).where(
        PatientProfile.id == patient_id, _known_to_practice(agenda_ids)))
    if patient is not None:
        return patient
    if identity is None:
        raise PatientNotFound(fields={"patient_id": [str(PatientNotFound.default_message)]})
    return identify_patient(by, identity, practitioner_id=practitioner_id or agenda_ids[0], patient_id=patient_id,
                            now=now)


# --- Waiting list ------------------------------------------------------------------

def join_waitlist(*, practitioner_id: int, visit_reason_id: int | None, before_at: dt.datetime, by: User,
                  patient_id: int | None = None, now: dt.datetime | None = None) -> WaitlistEntry:
    """A patient (or an account for a relative) asks for a slot earlier than
    `before_at`; one waiting entry per patient, practitioner and reason."""
    now = now or now_utc()
    if by.role is not Role.PATIENT:
        raise Forbidden()
    practitioner = listed_practitioner(practitioner_id)
    if patient_id is None and by.patient_profile is not None:
        patient_id = by.patient_profile.id
    if patient_id not in acting_patient_ids(by):
        raise _no_such_patient()
    reason = reason_for_booking(practitioner.id, visit_reason_id)
    if before_at <= now:
        raise _field_error("before", _l("Choose a date in the future."))
    already = db.session.scalar(sa.select(WaitlistEntry.id).where(
        WaitlistEntry.practitioner_id == practitioner.id, WaitlistEntry.patient_id == patient_id,
        WaitlistEntry.visit_reason_id == reason.id, WaitlistEntry.status != WaitlistStatus.CLOSED,
    ))
    if already is not None:
        raise Conflict(_l("This patient is already on this practitioner's waiting list."), code="already_on_waitlist")
    entry = WaitlistEntry(practitioner_id=practitioner.id, patient_id=patient_id, visit_reason_id=reason.id,
                          before_at=before_at, created_by_user_id=by.id, created_at=now)
    db.session.add(entry)
    db.session.flush()
    return entry


def waitlist_entries_of(user: User) -> list[WaitlistEntry]:
    if user.role is not Role.PATIENT:
        return []
    return list(db.session.scalars(
        sa.select(WaitlistEntry).options(joinedload(WaitlistEntry.practitioner), joinedload(WaitlistEntry.visit_reason))
        .where(WaitlistEntry.patient_id.in_(acting_patient_ids(user)), WaitlistEntry.status != WaitlistStatus.CLOSED)
        .order_by(WaitlistEntry.created_at)
    ))


def leave_waitlist(user: User, entry_id: int) -> None:
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or user.role is not Role.PATIENT or entry.patient_id not in acting_patient_ids(user):
        raise NotFound()
    entry.status = WaitlistStatus.CLOSED
    db.session.flush()


def offer_freed_slot(practitioner_id: int, start_at: dt.datetime, end_at: dt.datetime, *,
                     now: dt.datetime | None = None) -> WaitlistEntry | None:
    """Offer a freed time to the first waiting patient it suits: same
    practitioner, a reason that fits in it, earlier than they asked for, and
    still in the future, outside any absence. The slot is not held: the offer says it is free."""
    now = now or now_utc()
    if start_at <= now:
        return None
    if db.session.scalar(sa.select(Absence.id).where(Absence.practitioner_id == practitioner_id,
                                                     Absence.start_at < end_at, Absence.end_at > start_at).limit(1)):
        return None  # freed by an absence (webapp.booking.absences): the time is not free
    duration = int((end_at - start_at).total_seconds() // 60)
    entry = db.session.scalar(
        sa.select(WaitlistEntry).join(VisitReason, VisitReason.id == WaitlistEntry.visit_reason_id).where(
            WaitlistEntry.practitioner_id == practitioner_id, WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistEntry.before_at > start_at, VisitReason.duration_minutes <= duration,
            VisitReason.archived_at.is_(None),
        ).order_by(WaitlistEntry.created_at, WaitlistEntry.id).limit(1)
    )
    if entry is None:
        return None
    entry.status = WaitlistStatus.OFFERED
    entry.offered_start_at = start_at
    entry.offered_at = now
    db.session.flush()
    signals.waitlist_offer_made.send(_sender(), entry=entry, start_at=start_at)
    return entry


@functools.cache
def _close_served_waitlist_entries_statement() -> sa.Update:
    return sa.update(WaitlistEntry).where(
        WaitlistEntry.practitioner_id == sa.bindparam("booked_practitioner_id", type_=sa.Integer),
        WaitlistEntry.patient_id == sa.bindparam("booked_patient_id", type_=sa.Integer),
        WaitlistEntry.status != WaitlistStatus.CLOSED,
        WaitlistEntry.before_at > sa.bindparam("booked_start_at", type_=WaitlistEntry.before_at.type),
    ).values(status=WaitlistStatus.CLOSED).execution_options(synchronize_session="fetch")


def _close_waitlist_entries_served_by(appointment: Appointment) -> None:
    """A patient who booked earlier than they asked for no longer waits."""
    db.session.execute(_close_served_waitlist_entries_statement(), {
        "booked_practitioner_id": appointment.practitioner_id, "booked_patient_id": appointment.patient_id,
        "booked_start_at": appointment.start_at})


# --- Search ----------------------------------------------------------------------------

def search_practitioners(*, specialty: str | None = None, city: str | None = None, postcode: str | None = None,
                         place: str | None = None, text: str | None = None) -> sa.Select:
    """Verified practitioners bookable online matching every given criterion:
    a specialty code, a city or postcode (prefix), and what a patient typed in
    the search box (`text`: names, specialty terms, places; webapp.booking.search).
    `place` is either a postcode (digits) or a city."""
    statement = sa.select(PractitionerProfile).where(PractitionerProfile.is_verified,
                                                     bookable_condition(PractitionerProfile.id))
    if specialty:
        statement = statement.where(PractitionerProfile.specialty == specialty)
    for typed in (place, city, postcode):
        if typed and typed.strip():
            statement = statement.where(search.place_condition(typed))
    statement = statement.where(*search.query_conditions(text))
    return statement.order_by(PractitionerProfile.last_name, PractitionerProfile.first_name, PractitionerProfile.id)


def search_page_by_next_available(statement: sa.Select, *, page: int, per_page: int,
                                  now: dt.datetime | None = None) -> dict:
    """One page of a search's practitioners, soonest available first (those
    with nothing free within their horizon last, name order between equals),
    with each one's next available start in `next_available`.

    Three steps whatever the number of results: the matching ids, the next
    availability of all of them (a constant number of queries), the page's
    profiles."""
    ids = list(db.session.scalars(statement.with_only_columns(PractitionerProfile.id)))
    next_available = next_available_starts(ids, now=now)
    # sorted() is stable: equal availabilities keep the search's name order.
    ordered = sorted(ids, key=lambda pid: (next_available[pid] is None, next_available[pid] or NEVER))
    chosen = ordered[(page - 1) * per_page:page * per_page]
    profiles = {profile.id: profile for profile in db.session.scalars(
        sa.select(PractitionerProfile).where(PractitionerProfile.id.in_(chosen)))}
    return {"items": [profiles[pid] for pid in chosen], "page": page, "per_page": per_page, "total": len(ids),
            "next_available": {pid: next_available[pid] for pid in chosen}}


# --- Calendar feed ---------------------------------------------------------------------

def _feed_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rotate_calendar_feed(user: User) -> str:
    """A new secret for the practitioner's agenda feed; the previous URL stops
    working. Only the digest is stored: the raw token is shown once."""
    practitioner = own_practitioner(user)
    token = secrets.token_urlsafe(32)
    feed = db.session.get(CalendarFeed, practitioner.id)
    if feed is None:
        feed = CalendarFeed(practitioner_id=practitioner.id)
        db.session.add(feed)
    feed.token_hash = _feed_digest(token)
    feed.created_at = now_utc()
    db.session.flush()
    return token


def revoke_calendar_feed_of(user: User, *, reason: str) -> None:
    """The practitioner's feed URL stops working (404) until they ask for a
    new one; nothing if the account has no feed. Audited."""
    practitioner = user.practitioner_profile
    feed = db.session.get(CalendarFeed, practitioner.id) if practitioner else None
    if feed is None:
        return
    db.session.delete(feed)
    db.session.flush()
    record_event("calendar_feed.revoked", actor=user, target_type="practitioner", target_id=practitioner.id,
                 details={"reason": reason})


def on_account_access_revoked(sender, *, user: User, reason: str, **extra) -> None:
    """Receiver of `accounts.services.access_revoked` (a password change or a
    closed account): the calendar feed URL is a way in too."""
    revoke_calendar_feed_of(user, reason=reason)


def set_feed_patient_names(user: User, shown: bool) -> PractitionerSchedule:
    """Whether the practitioner's feed names patients in full (else by initials)."""
    practitioner = own_practitioner(user)
    schedule = db.session.get(PractitionerSchedule, practitioner.id)
    if schedule is None:
        schedule = PractitionerSchedule(practitioner_id=practitioner.id, **SCHEDULE_DEFAULTS)
        db.session.add(schedule)
    schedule.feed_shows_patient_names = bool(shown)
    db.session.flush()
    return schedule


def has_calendar_feed(practitioner_id: int) -> bool:
    return db.session.get(CalendarFeed, practitioner_id) is not None


def practitioner_for_feed(token: str) -> PractitionerProfile | None:
    """The practitioner of a feed token; none for a practitioner no longer
    verified, whose agenda shows no patient."""
    feed = db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.token_hash == _feed_digest(token)))
    practitioner = db.session.get(PractitionerProfile, feed.practitioner_id) if feed else None
    return practitioner if practitioner is not None and practitioner.is_verified else None


def feed_appointments(practitioner_id: int, *, now: dt.datetime | None = None) -> list[Appointment]:
    """The appointments a feed publishes: from a month ago on, cancelled ones
    included so that calendars remove them."""
    since = (now or now_utc()) - dt.timedelta(days=FEED_PAST_DAYS)
    return list(db.session.scalars(_with_parties(sa.select(Appointment).where(
        Appointment.practitioner_id == practitioner_id, Appointment.start_at >= since,
    )).order_by(Appointment.start_at)))
