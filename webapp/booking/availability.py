"""Availability: the free slots of a practitioner, computed from hours, absences, holidays and appointments."""

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.accounts.models import PractitionerProfile, User
from webapp.billing.bookability import bookable_condition
from webapp.booking import slots as slot_rules
from webapp.booking.agendas import managed_practitioner, no_such_practitioner
from webapp.booking.errors import NotASlotBoundary, SlotUnavailable, field_error
from webapp.booking.hold_cells import active_holds_condition
from webapp.booking.holidays import holiday_region
from webapp.booking.models import (
    Absence,
    Appointment,
    AppointmentStatus,
    PractitionerSchedule,
    SlotHold,
    VisitReason,
    WeeklyHours,
)
from webapp.booking.rules import CELL_MINUTES, DESK_HORIZON_DAYS, MAX_HORIZON_DAYS, MAX_VISIT_MINUTES, SCHEDULE_DEFAULTS
from webapp.booking.settings import schedules_of
from webapp.db import now_utc
from webapp.extensions import db

MAX_RANGE_DAYS = 62
# Search looks for the next free slots in widening windows (days ahead), for the
# practitioners still short of slots: a page of results costs the same few
# queries whatever its size, and most practitioners are settled by the first.
SEARCH_WINDOWS = (7, 31, 92, MAX_HORIZON_DAYS + 1)  # the last one covers any horizon


@dataclass
class Availability:
    """Everything slot computation needs for one practitioner over a window."""

    schedule: PractitionerSchedule
    rules: slot_rules.Rules
    opening: slot_rules.OpeningRanges
    absences: list[tuple[dt.datetime, dt.datetime]]
    appointments: list[tuple[dt.datetime, dt.datetime]]
    # Expired slot holds still in the table, when asked for (see webapp.booking.hold_cells).
    expired_holds: list[tuple[dt.datetime, dt.datetime]]

    def expired_hold_overlaps(self, start_at: dt.datetime, end_at: dt.datetime) -> bool:
        return any(start < end_at and end > start_at for start, end in self.expired_holds)

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
        horizon_days=DESK_HORIZON_DAYS if at_desk else schedule.horizon_days,
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
_HOURS, _ABSENCE, _APPOINTMENT, _PLACE, _EXPIRED_HOLD = 1, 2, 3, 4, 5


# Kept cached: with the statement built anew on each call, 14 days of slots took
# 6.4-7.1 ms instead of 0.8 ms (median, SQLite, busy machine; the build alone is 0.8 ms).
@functools.cache
def _availability_statement(*, ignores_appointment: bool) -> sa.Select:
    """The query of `load_availability`, built once with bound parameters
    (building it costs more than running it): weekly hours, absences and
    appointments of the practitioners, and their postcodes (for the local
    public holidays), in one round trip, as rows of one shape told apart by `kind`.
    Slot holds that have not expired count as appointments; the expired ones
    come apart when asked for (a booking releases those in its way)."""
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
    now = sa.bindparam("now", type_=instant_type)
    hold_filter = [
        # False for the stored next availability, which leaves holds out (webapp.booking.next_availability).
        sa.bindparam("count_holds", type_=sa.Boolean),
        SlotHold.practitioner_id.in_(practitioner_ids), active_holds_condition(now),
        SlotHold.start_at < window_end, SlotHold.end_at > window_start,
    ]
    expired_hold_filter = [
        sa.bindparam("expired_holds", type_=sa.Boolean),
        SlotHold.practitioner_id.in_(practitioner_ids), ~active_holds_condition(now),
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
        sa.select(sa.literal(_EXPIRED_HOLD, sa.Integer), SlotHold.practitioner_id, sa.null(), no_time, no_time,
                  SlotHold.start_at, SlotHold.end_at, no_postcode).where(*expired_hold_filter),
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
                      now: dt.datetime | None = None, count_holds: bool = True,
                      expired_holds: bool = False) -> dict[int, Availability]:
    """Schedules, hours, absences and busy times of several practitioners in
    two queries, whatever their number (one when the caller already holds
    their `schedules`). Live slot holds are busy unless `count_holds` is false;
    `expired_holds` also lists those that expired."""
    window_start, window_end = _utc_window(first_day, last_day)
    if schedules is None:
        schedules = schedules_of(practitioner_ids)
    opening: dict[int, dict[int, list]] = {pid: {} for pid in practitioner_ids}
    absences: dict[int, list] = {pid: [] for pid in practitioner_ids}
    busy: dict[int, list] = {pid: [] for pid in practitioner_ids}
    expired: dict[int, list] = {pid: [] for pid in practitioner_ids}
    postcodes: dict[int, str | None] = {}
    parameters = {"practitioner_ids": list(practitioner_ids), "window_start": window_start, "window_end": window_end,
                  "earliest_overlapping_start": window_start - dt.timedelta(minutes=MAX_VISIT_MINUTES),
                  "now": now or now_utc(), "count_holds": count_holds, "expired_holds": expired_holds}
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
            {_ABSENCE: absences, _APPOINTMENT: busy, _EXPIRED_HOLD: expired}[kind][pid].append((start_at, end_at))
    return {
        pid: Availability(schedules[pid], rules_of(schedules[pid], at_desk=at_desk, postcode=postcodes.get(pid)),
                          opening[pid], absences[pid], busy[pid], expired[pid])
        for pid in practitioner_ids
    }


def check_date_range(first_day: dt.date, last_day: dt.date) -> None:
    """A range of local dates, both included, of at most MAX_RANGE_DAYS days."""
    if last_day < first_day:
        raise field_error("to", _l("The end date is before the start date."))
    if (last_day - first_day).days + 1 > MAX_RANGE_DAYS:
        raise field_error("to", _l("At most %(days)d days at a time.", days=MAX_RANGE_DAYS))


def reason_for_booking(practitioner_id: int, visit_reason_id: int | None) -> VisitReason:
    """An active visit reason of this practitioner, or a 422 on `visit_reason_id`."""
    reason = db.session.get(VisitReason, visit_reason_id) if visit_reason_id is not None else None
    return offered_reason(reason, practitioner_id)


def offered_reason(reason: VisitReason | None, practitioner_id: int) -> VisitReason:
    if reason is None or reason.practitioner_id != practitioner_id or reason.is_archived:
        raise field_error("visit_reason_id", _l("Choose one of this practitioner's visit reasons."))
    return reason


@functools.cache
def _booking_request_statement() -> sa.Select:
    # Built once, like billing's `is_bookable`: its correlated EXISTS cost more to build than to run
    # (250 µs to build and 350 µs with its cache key, 5-7 % of a 4.8 ms booking).
    reason_matches = sa.and_(VisitReason.id == sa.bindparam("visit_reason_id", type_=sa.Integer),
                             VisitReason.practitioner_id == PractitionerProfile.id)
    return (sa.select(PractitionerProfile, VisitReason, bookable_condition(PractitionerProfile.id),
                      PractitionerSchedule)
            .outerjoin(VisitReason, reason_matches)
            .outerjoin(PractitionerSchedule, PractitionerSchedule.practitioner_id == PractitionerProfile.id)
            .where(PractitionerProfile.id == sa.bindparam("practitioner_id", type_=sa.Integer)))


class BookingRequest(NamedTuple):
    practitioner: PractitionerProfile
    reason: VisitReason | None
    bookable: bool
    schedules: dict[int, PractitionerSchedule]  # the practitioner's, for `load_availability`


def booking_request(practitioner_id: int, visit_reason_id: int | None) -> BookingRequest:
    """In one query: the practitioner (404 if there is none), their reason
    `visit_reason_id` if it is one of theirs, whether they are bookable
    online, and their booking rules."""
    row = db.session.execute(_booking_request_statement(),
                             {"practitioner_id": practitioner_id, "visit_reason_id": visit_reason_id}).first()
    if row is None:
        raise no_such_practitioner()
    practitioner, reason, bookable, schedule = row
    schedule = schedule or PractitionerSchedule(practitioner_id=practitioner.id, **SCHEDULE_DEFAULTS)
    return BookingRequest(practitioner, reason, bool(bookable), {practitioner.id: schedule})


def _free_slots_and_timezone(practitioner_id: int, visit_reason_id: int | None, first_day: dt.date,
                             last_day: dt.date, now: dt.datetime | None,
                             ) -> tuple[list[slot_rules.Slot], zoneinfo.ZoneInfo | None]:
    practitioner, reason, bookable, schedules = booking_request(practitioner_id, visit_reason_id)
    if not practitioner.is_verified:
        raise no_such_practitioner()
    check_date_range(first_day, last_day)
    offered_reason(reason, practitioner_id)
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


def first_free_slots(durations: dict[int, set[int]], count: int, *, now: dt.datetime,
                     schedules: dict[int, PractitionerSchedule] | None = None,
                     count_holds: bool = True) -> dict[int, list[slot_rules.Slot]]:
    """The first `count` free starts of each practitioner for any of the
    visit durations given for them, as online booking sees them, in at most
    1 + len(SEARCH_WINDOWS) queries whatever the number of practitioners:
    one slot per start, the shortest free there.
    `count_holds=False` treats held slots as free (the stored next availability)."""
    found: dict[int, list[slot_rules.Slot]] = {pid: [] for pid in durations}
    remaining = sorted(pid for pid, lengths in durations.items() if lengths)
    if remaining and schedules is None:
        schedules = schedules_of(remaining)
    today = now.date()
    first_day = today - dt.timedelta(days=1)  # UTC's date may be the day before the local one
    for window_days in SEARCH_WINDOWS:
        if not remaining:
            break
        last_day = today + dt.timedelta(days=window_days)
        availabilities = load_availability(remaining, first_day, last_day, schedules=schedules, now=now,
                                           count_holds=count_holds)
        for pid in list(remaining):
            # Each duration's first slots of this window, merged: they all come after the earlier windows'.
            wanted = count - len(found[pid])
            shortest: dict[dt.datetime, slot_rules.Slot] = {}
            for duration in sorted(durations[pid], reverse=True):
                for slot in availabilities[pid].free_slots(first_day, last_day, duration, now, limit=wanted):
                    shortest[slot.start_at] = slot
            found[pid] += [shortest[start] for start in sorted(shortest)[:wanted]]
            if len(found[pid]) >= count:
                remaining.remove(pid)
        first_day = last_day + dt.timedelta(days=1)
    return found


def first_free_slots_of_any_reason(practitioner_ids: list[int], count: int, *, now: dt.datetime | None = None,
                                   count_holds: bool = True, schedules: dict[int, PractitionerSchedule] | None = None,
                                   ) -> dict[int, list[slot_rules.Slot]]:
    """`first_free_slots` for every active visit reason of each practitioner."""
    durations: dict[int, set[int]] = {pid: set() for pid in practitioner_ids}
    for pid, duration in db.session.execute(
        sa.select(VisitReason.practitioner_id, VisitReason.duration_minutes).where(
            VisitReason.practitioner_id.in_(practitioner_ids), VisitReason.archived_at.is_(None))
    ):
        durations[pid].add(duration)
    return first_free_slots(durations, count, now=now or now_utc(), schedules=schedules, count_holds=count_holds)


def next_available_starts(practitioner_ids: list[int], *, now: dt.datetime | None = None, count_holds: bool = True,
                          schedules: dict[int, PractitionerSchedule] | None = None,
                          ) -> dict[int, dt.datetime | None]:
    """The first bookable start of each practitioner (any active visit
    reason), in a constant number of queries for any number of practitioners."""
    first = first_free_slots_of_any_reason(practitioner_ids, 1, now=now, count_holds=count_holds,
                                           schedules=schedules)
    return {pid: slots[0].start_at if slots else None for pid, slots in first.items()}


def check_start(availability: Availability, reason: VisitReason, start_at: dt.datetime, now: dt.datetime) -> None:
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
