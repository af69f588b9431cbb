"""Slot computation rules, one by one, on the pure slot functions."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from webapp.booking.holidays import is_public_holiday
from webapp.booking.slots import BusyTimes, Rules, busy_times, free_slots, grid_starts, instant_of

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.UTC
# A Monday without public holiday, a week ahead of "now".
MONDAY = dt.date(2026, 6, 8)
NOW = dt.datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
MORNING = [(dt.time(9), dt.time(12))]


def local(day: dt.date, hour: int, minute: int = 0, tz=PARIS) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tz).astimezone(UTC)


def wall_times(slots, tz=PARIS) -> list[str]:
    return [slot.start_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") for slot in slots]


def compute(*, opening=None, rules=None, absences=(), appointments=(), first=MONDAY, last=MONDAY, duration=30,
            now=NOW):
    rules = rules or Rules(timezone=PARIS)
    return free_slots(
        rules=rules, opening=opening if opening is not None else {first.weekday(): MORNING},
        busy=busy_times(rules, absences, appointments), first_day=first, last_day=last,
        duration_minutes=duration, now=now,
    )


def test_slots_fill_the_opening_hours_on_the_duration_grid():
    slots = compute()
    assert [t[-5:] for t in wall_times(slots)] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert all(slot.end_at - slot.start_at == dt.timedelta(minutes=30) for slot in slots)


def test_a_visit_must_fit_before_the_range_ends():
    slots = compute(opening={0: [(dt.time(9), dt.time(10, 15))]}, duration=30)
    assert [t[-5:] for t in wall_times(slots)] == ["09:00", "09:30"]


def test_no_slot_on_a_day_without_hours():
    assert compute(first=MONDAY + dt.timedelta(days=1), last=MONDAY + dt.timedelta(days=1), opening={0: MORNING}) == []


def test_breaks_between_ranges_have_no_slots():
    opening = {0: [(dt.time(9), dt.time(10)), (dt.time(14), dt.time(15))]}
    assert [t[-5:] for t in wall_times(compute(opening=opening))] == ["09:00", "09:30", "14:00", "14:30"]


def test_a_practitioner_step_sets_the_grid():
    rules = Rules(timezone=PARIS, step_minutes=15)
    slots = compute(rules=rules, opening={0: [(dt.time(9), dt.time(10))]}, duration=30)
    assert [t[-5:] for t in wall_times(slots)] == ["09:00", "09:15", "09:30"]


def test_absences_remove_every_slot_they_touch():
    absence = (local(MONDAY, 9, 45), local(MONDAY, 10, 35))
    assert [t[-5:] for t in wall_times(compute(absences=[absence]))] == ["09:00", "11:00", "11:30"]


def test_a_multi_day_absence_removes_whole_days():
    absence = (local(MONDAY, 0), local(MONDAY + dt.timedelta(days=2), 0))
    opening = {day: MORNING for day in range(5)}
    slots = compute(opening=opening, absences=[absence], last=MONDAY + dt.timedelta(days=2))
    assert {slot.start_at.astimezone(PARIS).date() for slot in slots} == {MONDAY + dt.timedelta(days=2)}


def test_booked_appointments_take_their_slots():
    appointment = (local(MONDAY, 10), local(MONDAY, 10, 30))
    assert "10:00" not in [t[-5:] for t in wall_times(compute(appointments=[appointment]))]
    assert len(compute(appointments=[appointment])) == 5


def test_the_buffer_keeps_a_gap_around_appointments():
    rules = Rules(timezone=PARIS, buffer=dt.timedelta(minutes=10), step_minutes=10)
    appointment = (local(MONDAY, 10), local(MONDAY, 10, 30))
    slots = compute(rules=rules, appointments=[appointment], opening={0: [(dt.time(9), dt.time(11, 30))]})
    times = [t[-5:] for t in wall_times(slots)]
    # 09:20-09:50 leaves exactly 10 minutes; 09:30 would leave none. After: 10:40 on.
    assert "09:20" in times and "09:30" not in times and "10:30" not in times and "10:40" in times


def test_minimum_notice_hides_slots_too_soon():
    now = local(MONDAY, 8, 0)
    rules = Rules(timezone=PARIS, min_notice=dt.timedelta(hours=2))
    assert [t[-5:] for t in wall_times(compute(rules=rules, now=now))] == ["10:00", "10:30", "11:00", "11:30"]


def test_past_slots_are_never_offered():
    now = local(MONDAY, 10, 5)
    assert [t[-5:] for t in wall_times(compute(now=now))] == ["10:30", "11:00", "11:30"]


def test_the_horizon_ends_the_bookable_days():
    opening = {day: MORNING for day in range(7)}
    rules = Rules(timezone=PARIS, horizon_days=3, closed_on_public_holidays=False)
    slots = compute(rules=rules, opening=opening, first=NOW.date(), last=NOW.date() + dt.timedelta(days=10))
    days = sorted({slot.start_at.astimezone(PARIS).date() for slot in slots})
    assert days == [NOW.date() + dt.timedelta(days=n) for n in range(4)]


def test_public_holidays_are_closed_unless_the_practitioner_opts_out():
    bastille_day = dt.date(2026, 7, 14)
    opening = {bastille_day.weekday(): MORNING}
    assert is_public_holiday(bastille_day) and is_public_holiday(dt.date(2026, 5, 14))  # Ascension
    assert not is_public_holiday(dt.date(2026, 12, 26))  # St Stephen: Alsace-Moselle only
    assert compute(opening=opening, first=bastille_day, last=bastille_day) == []
    st_stephen = dt.date(2026, 12, 26)
    alsace = Rules(timezone=PARIS, holiday_region="6AE", horizon_days=365)
    assert compute(rules=alsace, opening={st_stephen.weekday(): MORNING}, first=st_stephen, last=st_stephen) == []
    metropolitan = Rules(timezone=PARIS, horizon_days=365)
    assert compute(rules=metropolitan, opening={st_stephen.weekday(): MORNING}, first=st_stephen, last=st_stephen)
    open_rules = Rules(timezone=PARIS, closed_on_public_holidays=False)
    assert len(compute(rules=open_rules, opening=opening, first=bastille_day, last=bastille_day)) == 6


def test_slots_are_sorted_across_days_and_ranges():
    opening = {0: [(dt.time(14), dt.time(15)), (dt.time(9), dt.time(10))], 1: MORNING}
    slots = compute(opening=opening, last=MONDAY + dt.timedelta(days=1))
    assert [slot.start_at for slot in slots] == sorted(slot.start_at for slot in slots)
    assert len(slots) == len({slot.start_at for slot in slots}) == 4 + 6


def test_limit_returns_the_first_slots_only():
    opening = {day: MORNING for day in range(5)}
    slots = free_slots(rules=Rules(timezone=PARIS), opening=opening, busy=BusyTimes([]), first_day=MONDAY,
                       last_day=MONDAY + dt.timedelta(days=4), duration_minutes=30, now=NOW, limit=1)
    assert wall_times(slots) == ["2026-06-08 09:00"]


def test_another_timezone_is_honoured():
    tokyo = ZoneInfo("Asia/Tokyo")
    slots = compute(rules=Rules(timezone=tokyo))
    assert slots[0].start_at == dt.datetime(2026, 6, 8, 0, 0, tzinfo=UTC)


# --- Daylight saving time: last Sundays of March and October ----------------------

SPRING_SUNDAY = dt.date(2026, 3, 29)
AUTUMN_SUNDAY = dt.date(2026, 10, 25)
ALL_WEEK = {day: [(dt.time(9), dt.time(10))] for day in range(7)}
NIGHT = [(dt.time(1), dt.time(4))]
OPEN_RULES = Rules(timezone=PARIS, closed_on_public_holidays=False, horizon_days=365)
EARLY_NOW = dt.datetime(2026, 1, 1, tzinfo=UTC)


def test_nine_o_clock_stays_nine_o_clock_local_across_spring_forward():
    slots = compute(rules=OPEN_RULES, opening=ALL_WEEK, first=SPRING_SUNDAY - dt.timedelta(days=1),
                    last=SPRING_SUNDAY + dt.timedelta(days=1), now=EARLY_NOW)
    assert [t for t in wall_times(slots) if t.endswith("09:00")] == [
        "2026-03-28 09:00", "2026-03-29 09:00", "2026-03-30 09:00"]
    nine = [slot.start_at.hour for slot in slots if slot.start_at.astimezone(PARIS).minute == 0]
    assert nine == [8, 7, 7]  # UTC+1 then UTC+2


def test_nine_o_clock_stays_nine_o_clock_local_across_fall_back():
    slots = compute(rules=OPEN_RULES, opening=ALL_WEEK, first=AUTUMN_SUNDAY - dt.timedelta(days=1),
                    last=AUTUMN_SUNDAY + dt.timedelta(days=1), now=EARLY_NOW)
    assert [t for t in wall_times(slots) if t.endswith("09:00")] == [
        "2026-10-24 09:00", "2026-10-25 09:00", "2026-10-26 09:00"]
    nine = [slot.start_at.hour for slot in slots if slot.start_at.astimezone(PARIS).minute == 0]
    assert nine == [7, 8, 8]  # UTC+2 then UTC+1


def test_spring_forward_gap_produces_no_slot_and_loses_none_around_it():
    slots = compute(rules=OPEN_RULES, opening={6: NIGHT}, first=SPRING_SUNDAY, last=SPRING_SUNDAY, now=EARLY_NOW)
    assert [t[-5:] for t in wall_times(slots)] == ["01:00", "01:30", "03:00", "03:30"]
    starts = [slot.start_at for slot in slots]
    assert len(set(starts)) == len(starts)
    assert all(slot.end_at - slot.start_at == dt.timedelta(minutes=30) for slot in slots)


def test_fall_back_fold_produces_each_local_time_once():
    slots = compute(rules=OPEN_RULES, opening={6: NIGHT}, first=AUTUMN_SUNDAY, last=AUTUMN_SUNDAY, now=EARLY_NOW)
    assert [t[-5:] for t in wall_times(slots)] == ["01:00", "01:30", "02:00", "02:30", "03:00", "03:30"]
    starts = [slot.start_at for slot in slots]
    assert starts == sorted(set(starts))
    # The slots never overlap each other although 02:00-03:00 happens twice.
    assert all(first.end_at <= second.start_at for first, second in itertools.pairwise(slots))


def test_instant_of_refuses_times_that_do_not_exist():
    assert instant_of(dt.datetime(2026, 3, 29, 2, 30), PARIS) is None
    first_half_past_two = instant_of(dt.datetime(2026, 10, 25, 2, 30), PARIS)
    assert first_half_past_two == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_a_visit_crossing_the_gap_is_measured_in_real_time():
    grid = grid_starts(SPRING_SUNDAY, [(dt.time(1), dt.time(3, 30))], 60, 30, PARIS)
    # 01:30 + 60 real minutes ends at 03:30 local: it still fits; 03:00 would end at 04:00: it does not.
    assert [t[-5:] for t in wall_times(grid)] == ["01:00", "01:30"]


def _grid_wall_time_by_wall_time(day, ranges, duration_minutes, step_minutes, tz):
    """The grid's definition, one wall-clock time after the other (the slow, obvious way)."""
    duration, step = dt.timedelta(minutes=duration_minutes), dt.timedelta(minutes=step_minutes or duration_minutes)
    starts = []
    for range_start, range_end in ranges:
        wall, wall_end = dt.datetime.combine(day, range_start), dt.datetime.combine(day, range_end)
        while wall + duration <= wall_end:
            start = instant_of(wall, tz)
            if start is not None and (start + duration).astimezone(tz).replace(tzinfo=None) <= wall_end:
                starts.append((start, start + duration))
            wall += step
    return starts


def test_grid_matches_its_wall_clock_definition_every_day_of_the_year_in_several_zones():
    ranges = [(dt.time(0), dt.time(2, 15)), (dt.time(2, 30), dt.time(3, 45)), (dt.time(9), dt.time(12)),
              (dt.time(21), dt.time(23, 55))]
    for tz in (PARIS, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")):
        day = dt.date(2026, 1, 1)
        while day.year == 2026:
            for duration, step in ((15, None), (30, 10), (60, 45)):
                expected = _grid_wall_time_by_wall_time(day, ranges, duration, step, tz)
                assert [(slot.start_at, slot.end_at) for slot in grid_starts(day, ranges, duration, step, tz)] \
                    == expected, (tz, day, duration, step)
            day += dt.timedelta(days=1)
