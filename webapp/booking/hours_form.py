"""The opening hours form: time pickers per weekday, several ranges a day (the gaps are breaks).

Each range is two `<input type="time">` named `h-<weekday>-<index>-start|end`.
Adding or removing a range is a submit button, so the page works without
JavaScript; saving checks every range and says what is wrong next to it,
before the service (the same one the API's PUT schedule uses) checks again.
"""

import datetime as dt
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from webapp.booking.rules import CELL_MINUTES

FIELD_NAME = re.compile(r"^h-([0-6])-(\d{1,2})-(start|end)$")
MAX_RANGES_PER_DAY = 8
WEEKDAYS = range(7)


class HoursForm(FlaskForm):
    """The CSRF token; the ranges are read from the posted fields (`read_ranges`)."""


@dataclass
class RangeRow:
    start: str = ""  # as typed, "HH:MM"
    end: str = ""
    error: str = ""

    def times(self) -> tuple[dt.time, dt.time]:
        return _parse_time(self.start), _parse_time(self.end)


def _parse_time(text: str) -> dt.time:
    value = dt.time.fromisoformat(text.strip())
    if value.second or value.microsecond or value.tzinfo:
        raise ValueError(text)
    return value


def rows_of(weekly_hours) -> dict[int, list[RangeRow]]:
    """The saved hours (WeeklyHours rows) as the form's lines."""
    rows: dict[int, list[RangeRow]] = {weekday: [] for weekday in WEEKDAYS}
    for item in weekly_hours:
        rows[item.weekday].append(RangeRow(f"{item.start_time:%H:%M}", f"{item.end_time:%H:%M}"))
    return rows


def read_ranges(data) -> dict[int, list[RangeRow]]:
    """The posted lines by weekday, in the order of their index; at most MAX_RANGES_PER_DAY a day."""
    found: dict[tuple[int, int], RangeRow] = {}
    for name, value in data.items():
        match = FIELD_NAME.match(name)
        if match is None:
            continue
        weekday, index, bound = int(match[1]), int(match[2]), match[3]
        setattr(found.setdefault((weekday, index), RangeRow()), bound, str(value)[:8])
    rows: dict[int, list[RangeRow]] = {weekday: [] for weekday in WEEKDAYS}
    for (weekday, _index), row in sorted(found.items()):
        if len(rows[weekday]) < MAX_RANGES_PER_DAY:
            rows[weekday].append(row)
    return rows


def apply_edit(rows: dict[int, list[RangeRow]], data) -> bool:
    """Add a line (`add=<weekday>`) or remove one (`remove=<weekday>-<index>`);
    False when the form was posted to be saved."""
    add, remove = data.get("add", ""), data.get("remove", "")
    if add.isdigit() and int(add) in rows:
        if len(rows[int(add)]) < MAX_RANGES_PER_DAY:
            rows[int(add)].append(RangeRow())
        return True
    weekday, _, index = remove.partition("-")
    if weekday.isdigit() and index.isdigit() and int(weekday) in rows:
        if int(index) < len(rows[int(weekday)]):
            del rows[int(weekday)][int(index)]
        return True
    return False


def checked_weekly(rows: dict[int, list[RangeRow]]) -> list[dict] | None:
    """The ranges as the schedule service takes them (`{weekday, start, end}`),
    or None after putting a message on each line that is wrong. Empty lines are
    dropped; a day without a line is closed."""
    weekly, valid = [], True
    for weekday in WEEKDAYS:
        rows[weekday] = [row for row in rows[weekday] if row.start.strip() or row.end.strip()]
        accepted: list[tuple[dt.time, dt.time]] = []
        for row in rows[weekday]:
            row.error = str(_range_problem(row, accepted) or "")
            if row.error:
                valid = False
            else:
                accepted.append(row.times())
        weekly += [{"weekday": weekday, "start": start, "end": end} for start, end in sorted(accepted)]
    return weekly if valid else None


def _range_problem(row: RangeRow, accepted: list[tuple[dt.time, dt.time]]):
    if not row.start.strip() or not row.end.strip():
        return _l("Give both the start and the end of the range.")
    try:
        start, end = row.times()
    except ValueError:
        return _l("Write the times like 09:00.")
    if end <= start:
        return _l("The end (%(end)s) must come after the start (%(start)s).", start=row.start, end=row.end)
    if start.minute % CELL_MINUTES or end.minute % CELL_MINUTES:
        return _l("Use times on multiples of %(minutes)d minutes.", minutes=CELL_MINUTES)
    for other_start, other_end in accepted:
        if start < other_end and other_start < end:
            return _l("This range overlaps the range %(start)s–%(end)s of the same day.",
                      start=f"{other_start:%H:%M}", end=f"{other_end:%H:%M}")
    return None
