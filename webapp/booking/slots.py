"""Slot computation: pure functions from opening hours and busy times to free starts.

Slots are never stored. Opening hours are local wall-clock ranges; each
candidate start is a wall-clock time on the grid of its range, turned into an
instant in the practitioner's timezone. A wall-clock time that does not exist
(the spring-forward gap) yields no slot, and an ambiguous one (the autumn
fold) yields its first occurrence only, so no start is produced twice and a
09:00 slot is 09:00 local on both sides of a change.
"""

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from webapp.booking.holidays import is_public_holiday
from webapp.booking.rules import SCHEDULE_DEFAULTS

UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class Slot:
    start_at: dt.datetime  # UTC
    end_at: dt.datetime  # UTC


@dataclass(frozen=True)
class Rules:
    """What narrows a practitioner's opening hours into bookable slots."""

    timezone: ZoneInfo
    min_notice: dt.timedelta = dt.timedelta(0)
    horizon_days: int = SCHEDULE_DEFAULTS["horizon_days"]
    buffer: dt.timedelta = dt.timedelta(0)
    closed_on_public_holidays: bool = True
    step_minutes: int | None = None
    holiday_region: str | None = None  # webapp.booking.holidays; None: metropolitan France


OpeningRanges = dict[int, Sequence[tuple[dt.time, dt.time]]]  # weekday (Monday 0) -> local ranges


def instant_of(wall: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
    """The UTC instant of a local wall-clock time, or None if it does not exist.

    Ambiguous times resolve to their first occurrence (fold=0)."""
    instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall:
        return None
    return instant


def grid_starts(day: dt.date, ranges: Iterable[tuple[dt.time, dt.time]], duration_minutes: int,
                step_minutes: int | None, tz: ZoneInfo) -> list[Slot]:
    """Every slot of the grid on a local day, ignoring what makes slots busy."""
    duration = dt.timedelta(minutes=duration_minutes)
    step = dt.timedelta(minutes=step_minutes or duration_minutes)
    slots = []
    for range_start, range_end in ranges:
        wall = dt.datetime.combine(day, range_start)
        wall_end = dt.datetime.combine(day, range_end)
        first, last = instant_of(wall, tz), instant_of(wall_end, tz)
        if first is not None and last is not None and last - first == wall_end - wall:
            # No clock change inside the range: real time follows the wall clock,
            # so the grid is plain arithmetic in UTC.
            start = first
            while start + duration <= last:
                slots.append(Slot(start, start + duration))
                start += step
            continue
        while wall + duration <= wall_end:
            start = instant_of(wall, tz)
            if start is not None:
                end = start + duration
                # Real time, not wall time, decides whether the visit fits in the range.
                if end.astimezone(tz).replace(tzinfo=None) <= wall_end:
                    slots.append(Slot(start, end))
            wall += step
    return slots


def merge_intervals(intervals: Iterable[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime, dt.datetime]]:
    merged: list[list[dt.datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


class BusyTimes:
    """Intervals no slot may overlap, searchable in logarithmic time."""

    def __init__(self, intervals: Iterable[tuple[dt.datetime, dt.datetime]]):
        self._intervals = merge_intervals(intervals)
        self._ends = [end for _, end in self._intervals]

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        index = bisect.bisect_right(self._ends, start)
        return index < len(self._intervals) and self._intervals[index][0] < end


def busy_times(rules: Rules, absences: Iterable[tuple[dt.datetime, dt.datetime]],
               appointments: Iterable[tuple[dt.datetime, dt.datetime]]) -> BusyTimes:
    """Absences as they are, appointments widened by the buffer on both sides."""
    widened = ((start - rules.buffer, end + rules.buffer) for start, end in appointments)
    return BusyTimes([*absences, *widened])


def local_today(rules: Rules, now: dt.datetime) -> dt.date:
    return now.astimezone(rules.timezone).date()


def last_bookable_day(rules: Rules, now: dt.datetime) -> dt.date:
    return local_today(rules, now) + dt.timedelta(days=rules.horizon_days)


def is_open_day(rules: Rules, day: dt.date) -> bool:
    return not (rules.closed_on_public_holidays and is_public_holiday(day, rules.holiday_region))


def free_slots(*, rules: Rules, opening: OpeningRanges, busy: BusyTimes, first_day: dt.date, last_day: dt.date,
               duration_minutes: int, now: dt.datetime, limit: int | None = None) -> list[Slot]:
    """Free slots from `first_day` to `last_day` (local dates, inclusive), sorted.

    Hours − public holidays − absences − appointments (± buffer) − notice −
    horizon. `limit` stops at the first slots found (the next availability)."""
    earliest = now + rules.min_notice
    last_day = min(last_day, last_bookable_day(rules, now))
    first_day = max(first_day, local_today(rules, now))
    found: list[Slot] = []
    day = first_day
    while day <= last_day:
        ranges = opening.get(day.weekday())
        if ranges and is_open_day(rules, day):
            for slot in grid_starts(day, ranges, duration_minutes, rules.step_minutes, rules.timezone):
                if slot.start_at >= earliest and not busy.overlaps(slot.start_at, slot.end_at):
                    found.append(slot)
        if limit is not None and len(found) >= limit:
            break
        day += dt.timedelta(days=1)
    found.sort(key=lambda slot: slot.start_at)
    return found[:limit] if limit is not None else found
