"""The agenda as a time grid: 15-minute rows, one column per day (a week) or per practitioner (a clinic's day).

`build_grid` is pure: from each column's opening hours, absences, public
holiday, appointments and free desk starts it makes the cells a table
shows, an appointment (or several overlapping ones) being one cell spanning
the rows it covers. `agenda_grid` loads what it needs for the agendas a user
manages in a constant number of queries, whatever the number of columns or
appointments.
"""

import datetime as dt
import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import holidays
import sqlalchemy as sa
from flask_babel import get_locale
from sqlalchemy.orm import joinedload

from webapp.accounts.models import PractitionerProfile, User
from webapp.booking import agendas, settings
from webapp.booking import availability as booking_availability
from webapp.booking.models import Absence, Appointment, AppointmentStatus, VisitReason
from webapp.db import now_utc
from webapp.errors import Forbidden
from webapp.extensions import db

ROW_MINUTES = 15
DAY_MINUTES = 24 * 60
# Rows shown when no column has opening hours or appointments.
DEFAULT_FIRST_MINUTE, DEFAULT_LAST_MINUTE = 8 * 60, 19 * 60


class CellKind(enum.StrEnum):
    BLOCK = "block"  # one or more appointments
    FREE = "free"  # open, and a visit can start in it: a link to book
    OPEN = "open"  # inside the opening hours, nothing can start here now
    ABSENCE = "absence"
    CLOSED = "closed"  # outside the hours, or a public holiday the practice closes on


@dataclass
class Cell:
    kind: CellKind
    minute: int  # minutes after local midnight where the row starts
    rowspan: int = 1
    appointments: list = field(default_factory=list)
    free_start: dt.datetime | None = None  # the desk start a FREE cell books (aware, local)
    absence_reason: str = ""
    starts_run: bool = False  # the first absence cell of a run carries the visible label


@dataclass
class ColumnSource:
    """What one column shows: a practitioner's local day and what happens in it."""

    practitioner: PractitionerProfile
    day: dt.date
    timezone: ZoneInfo
    opening: Sequence[tuple[dt.time, dt.time]]
    absences: Sequence[tuple[dt.datetime, dt.datetime, str]] = ()
    appointments: Sequence[Appointment] = ()
    free_starts: Sequence[dt.datetime] = ()  # UTC instants where a desk booking can start
    holiday: str | None = None  # the public holiday's name
    closed_for_holiday: bool = False


@dataclass
class Column:
    source: ColumnSource
    cells: list[Cell | None]  # one per row; None where a cell above spans this row

    @property
    def practitioner(self) -> PractitionerProfile:
        return self.source.practitioner

    @property
    def day(self) -> dt.date:
        return self.source.day

    @property
    def absences(self) -> Sequence[tuple[dt.datetime, dt.datetime, str]]:
        return self.source.absences


@dataclass
class Grid:
    minutes: list[int]  # the start of each row, in minutes after local midnight
    columns: list[Column]

    @property
    def rows(self) -> list[tuple[str, list[tuple[Column, Cell]]]]:
        """The table body: each row's time label and the cells that start in it, with their column."""
        return [(f"{minute // 60:02d}:{minute % 60:02d}",
                 [(column, column.cells[index]) for column in self.columns if column.cells[index] is not None])
                for index, minute in enumerate(self.minutes)]


def _local_minute(instant: dt.datetime, source: ColumnSource) -> int:
    """Minutes after the column's local midnight, clipped to its day."""
    local = instant.astimezone(source.timezone)
    if local.date() < source.day:
        return 0
    if local.date() > source.day:
        return DAY_MINUTES
    return local.hour * 60 + local.minute


def _minutes_of(time: dt.time) -> int:
    return time.hour * 60 + time.minute


def _row_bounds(sources: Sequence[ColumnSource]) -> tuple[int, int]:
    """From the earliest opening or appointment to the latest, on whole rows."""
    starts, ends = [], []
    for source in sources:
        for start, end in source.opening:
            starts.append(_minutes_of(start))
            ends.append(_minutes_of(end) or DAY_MINUTES)
        for appointment in source.appointments:
            starts.append(_local_minute(appointment.start_at, source))
            ends.append(_local_minute(appointment.end_at, source))
    first = min(starts, default=DEFAULT_FIRST_MINUTE)
    last = max(ends, default=DEFAULT_LAST_MINUTE)
    first -= first % ROW_MINUTES
    last = min(DAY_MINUTES, last + (-last % ROW_MINUTES))
    return first, max(last, first + ROW_MINUTES)


def _blocks(source: ColumnSource, first: int, last: int) -> dict[int, tuple[int, list]]:
    """Appointments as row spans `{first row: (row count, appointments)}`; overlapping spans merge into one."""
    spans = []
    for appointment in sorted(source.appointments, key=lambda item: (item.start_at, item.id or 0)):
        start = max(_local_minute(appointment.start_at, source), first)
        end = min(_local_minute(appointment.end_at, source), last)
        if end <= start:
            continue
        first_row = (start - first) // ROW_MINUTES
        end_row = -(-(end - first) // ROW_MINUTES)
        if spans and first_row < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end_row)
            spans[-1][2].append(appointment)
        else:
            spans.append([first_row, end_row, [appointment]])
    return {first_row: (end_row - first_row, items) for first_row, end_row, items in spans}


def _absence_at(source: ColumnSource, row_start: dt.datetime, row_end: dt.datetime) -> str | None:
    """The reason of an absence over the row ("" when none was given), None without absence."""
    for start, end, reason in source.absences:
        if start < row_end and end > row_start:
            return reason
    return None


def _column(source: ColumnSource, minutes: list[int]) -> Column:
    first, last = minutes[0], minutes[-1] + ROW_MINUTES
    blocks = _blocks(source, first, last)
    opening = [(_minutes_of(start), _minutes_of(end) or DAY_MINUTES) for start, end in source.opening]
    free_by_row: dict[int, dt.datetime] = {}
    for start in sorted(source.free_starts):
        minute = _local_minute(start, source)
        if first <= minute < last:
            free_by_row.setdefault((minute - first) // ROW_MINUTES, start.astimezone(source.timezone))
    midnight = dt.datetime.combine(source.day, dt.time(), source.timezone)
    cells: list[Cell | None] = []
    covered_until = 0
    previous_absence = False
    for index, minute in enumerate(minutes):
        if index < covered_until:
            cells.append(None)
            previous_absence = False
            continue
        if index in blocks:
            rowspan, appointments = blocks[index]
            cells.append(Cell(CellKind.BLOCK, minute, rowspan=rowspan, appointments=appointments))
            covered_until = index + rowspan
            previous_absence = False
            continue
        row_start = midnight + dt.timedelta(minutes=minute)
        absence = _absence_at(source, row_start, row_start + dt.timedelta(minutes=ROW_MINUTES))
        if absence is not None:
            cells.append(Cell(CellKind.ABSENCE, minute, absence_reason=absence, starts_run=not previous_absence))
            previous_absence = True
            continue
        previous_absence = False
        is_open = not source.closed_for_holiday and any(
            start < minute + ROW_MINUTES and end > minute for start, end in opening)
        if is_open and index in free_by_row:
            cells.append(Cell(CellKind.FREE, minute, free_start=free_by_row[index]))
        else:
            cells.append(Cell(CellKind.OPEN if is_open else CellKind.CLOSED, minute))
    return Column(source, cells)


def build_grid(sources: Sequence[ColumnSource]) -> Grid:
    """The grid of `sources`, one column each, with rows covering all their hours and appointments."""
    first, last = _row_bounds(sources)
    minutes = list(range(first, last, ROW_MINUTES))
    return Grid(minutes, [_column(source, minutes) for source in sources])


# --- Loading -----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _holiday_names(region: str | None, year: int, language: str) -> dict[dt.date, str]:
    return dict(holidays.France(subdiv=region, years=year, language=language))


def holiday_name(day: dt.date, region: str | None) -> str | None:
    """The public holiday on `day` in `region` (webapp.booking.holidays), named in the page's language."""
    language = "fr" if str(get_locale() or "fr").startswith("fr") else "en_US"
    return _holiday_names(region, day.year, language).get(day)


@dataclass
class AgendaGrid:
    managed: list[PractitionerProfile]  # every agenda the user manages (the chooser)
    shown: list[PractitionerProfile]  # the agendas in the grid
    day: dt.date  # the day asked for (in a week, any of its days)
    days: list[dt.date]
    today: dt.date
    grid: Grid
    timezone: str  # the first shown practitioner's


def _shown(managed: list[PractitionerProfile], practitioner_ids: Sequence[int], single: bool) -> list:
    chosen = [practitioner for practitioner in managed if practitioner.id in set(practitioner_ids)]
    if not chosen:
        chosen = managed
    return chosen[:1] if single else chosen


def _appointments(practitioner_ids: list[int], window: tuple[dt.datetime, dt.datetime]) -> list[Appointment]:
    start, end = window
    return list(db.session.scalars(
        sa.select(Appointment).options(joinedload(Appointment.patient), joinedload(Appointment.visit_reason))
        .where(Appointment.practitioner_id.in_(practitioner_ids), Appointment.start_at < end,
               Appointment.end_at > start, Appointment.start_at > start - dt.timedelta(days=1))
        .order_by(Appointment.start_at, Appointment.id)))


def _absences(practitioner_ids: list[int], window: tuple[dt.datetime, dt.datetime]) -> list[Absence]:
    start, end = window
    return list(db.session.scalars(sa.select(Absence).where(
        Absence.practitioner_id.in_(practitioner_ids), Absence.start_at < end, Absence.end_at > start)))


def _durations(practitioner_ids: list[int]) -> dict[int, set[int]]:
    durations: dict[int, set[int]] = {pid: set() for pid in practitioner_ids}
    for pid, minutes in db.session.execute(sa.select(VisitReason.practitioner_id, VisitReason.duration_minutes).where(
            VisitReason.practitioner_id.in_(practitioner_ids), VisitReason.archived_at.is_(None))):
        durations[pid].add(minutes)
    return durations


def agenda_grid(user: User, *, day: dt.date | None = None, week: bool = False, practitioner_ids: Sequence[int] = (),
                now: dt.datetime | None = None) -> AgendaGrid:
    """The grid of `day` (today by default) or of its week (`week`), for the
    agendas the user manages among `practitioner_ids` (all of them when none
    is named; a week shows one agenda): a column per practitioner for a day,
    a column per day for a week. Free cells are the desk's free starts (no
    notice, horizon or buffer) of any active visit reason. Refused (403) to
    anyone who manages no agenda; agendas they do not manage are left out."""
    now = now or now_utc()
    managed = agendas.managed_practitioners(user)
    if not managed:
        raise Forbidden()
    shown = _shown(managed, practitioner_ids, single=week)
    ids = [practitioner.id for practitioner in shown]
    schedules = settings.schedules_of(ids)
    timezone = schedules[ids[0]].timezone
    today = now.astimezone(ZoneInfo(timezone)).date()
    day = day or today
    first = day - dt.timedelta(days=day.weekday()) if week else day
    days = [first + dt.timedelta(days=offset) for offset in range(7 if week else 1)]
    availability = booking_availability.load_availability(ids, days[0], days[-1], at_desk=True, schedules=schedules)
    # A UTC window holding every shown local day, whatever the timezones.
    window = (dt.datetime.combine(days[0] - dt.timedelta(days=1), dt.time(), dt.UTC),
              dt.datetime.combine(days[-1] + dt.timedelta(days=2), dt.time(), dt.UTC))
    appointments, absences, durations = _appointments(ids, window), _absences(ids, window), _durations(ids)
    sources = []
    for practitioner in shown:
        available = availability[practitioner.id]
        rules = available.rules
        free = sorted({slot.start_at for minutes in durations[practitioner.id]
                       for slot in available.free_slots(days[0], days[-1], minutes, now)})
        for day in days:
            holiday = holiday_name(day, rules.holiday_region)
            midnight = dt.datetime.combine(day, dt.time(), rules.timezone)
            next_midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), rules.timezone)
            sources.append(ColumnSource(
                practitioner=practitioner, day=day, timezone=rules.timezone,
                opening=sorted(available.opening.get(day.weekday(), [])),
                absences=[(absence.start_at, absence.end_at, absence.reason) for absence in absences
                          if absence.practitioner_id == practitioner.id and absence.start_at < next_midnight
                          and absence.end_at > midnight],
                appointments=[item for item in appointments if item.practitioner_id == practitioner.id
                              and item.start_at.astimezone(rules.timezone).date() <= day
                              and item.end_at.astimezone(rules.timezone).date() >= day],
                free_starts=[start for start in free if start.astimezone(rules.timezone).date() == day],
                holiday=holiday, closed_for_holiday=bool(holiday) and rules.closed_on_public_holidays,
            ))
    return AgendaGrid(managed=managed, shown=shown, day=day, days=days, today=today, grid=build_grid(sources),
                      timezone=timezone)


def reasons_fitting(user: User, practitioner_id: int, start_at: dt.datetime, *,
                    now: dt.datetime | None = None) -> list[VisitReason]:
    """The active visit reasons the desk can book at `start_at` in an agenda the user manages (403 otherwise)."""
    practitioner = agendas.managed_practitioner(user, practitioner_id)
    reasons = settings.visit_reasons_of(practitioner.id)
    available = booking_availability.load_availability([practitioner.id], start_at.date() - dt.timedelta(days=1),
                                           start_at.date() + dt.timedelta(days=1), at_desk=True)[practitioner.id]
    day = start_at.astimezone(available.rules.timezone).date()
    fitting = []
    for reason in reasons:
        starts = {slot.start_at for slot in available.free_slots(day, day, reason.duration_minutes, now or now_utc())}
        if start_at in starts:
            fitting.append(reason)
    return fitting


def is_in_progress(appointment: Appointment, now: dt.datetime) -> bool:
    """A visit under way or just done: the patient came (or it has started) and it was not cancelled or missed."""
    return appointment.status in (AppointmentStatus.BOOKED, AppointmentStatus.COMPLETED) and (
        appointment.arrived_at is not None or appointment.start_at <= now)
