"""A practitioner's booking settings: schedule and booking rules, opening hours, absences, visit reasons."""

import datetime as dt
import functools
import itertools
import zoneinfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.accounts.models import User
from webapp.booking.agendas import own_practitioner
from webapp.booking.errors import InvalidBookingData, field_error
from webapp.booking.models import Absence, PractitionerSchedule, VisitMode, VisitReason, WeeklyHours
from webapp.booking.rules import CELL_MINUTES, SCHEDULE_DEFAULTS, SCHEDULE_LIMITS, is_visit_length, visit_length_message
from webapp.db import now_utc
from webapp.errors import NotFound
from webapp.extensions import db


def schedule_of(practitioner_id: int) -> PractitionerSchedule:
    """The practitioner's booking rules; the defaults (not saved) if never set."""
    schedule = db.session.get(PractitionerSchedule, practitioner_id)
    return schedule or PractitionerSchedule(practitioner_id=practitioner_id, **SCHEDULE_DEFAULTS)


def schedules_of(practitioner_ids) -> dict[int, PractitionerSchedule]:
    """The booking rules of several practitioners in one query (defaults for those without)."""
    # A plain select: caching its builder saved 20 µs a call (0.5 % of a booking), too little to keep.
    found = {row.practitioner_id: row for row in db.session.scalars(sa.select(PractitionerSchedule).where(
        PractitionerSchedule.practitioner_id.in_(set(practitioner_ids))))}
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
        for (_, previous_end), (start, _) in itertools.pairwise(ranges):
            if start < previous_end:
                problems.append(str(_l("Two ranges overlap on the same day (weekday %(weekday)d).", weekday=weekday)))
                break
    return problems


def _schedule_problems(values: dict) -> dict[str, list[str]]:
    errors = {}
    if values["timezone"] not in known_timezones():
        errors["timezone"] = [str(_l("Unknown timezone."))]
    for name, (low, high) in SCHEDULE_LIMITS.items():
        if not low <= values[name] <= high:
            errors[name] = [str(_l("Must be between %(low)d and %(high)d.", low=low, high=high))]
    step = values.get("slot_step_minutes")
    if step is not None and not is_visit_length(step):
        errors["slot_step_minutes"] = [str(visit_length_message())]
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
    # Deleted through the session rather than by one DELETE statement: the flush
    # then tells webapp.booking.next_availability that the hours changed.
    for hours in weekly_hours_of(practitioner.id):
        db.session.delete(hours)
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
        raise field_error("end", _l("The end must come after the start."))
    absence = Absence(practitioner_id=practitioner.id, start_at=start_at, end_at=end_at, reason=(reason or "").strip())
    db.session.add(absence)
    db.session.flush()
    return absence


def _own_row(user: User, model, row_id: int):
    """A row of the user's own agenda (absence, visit reason); 404 for any
    other, as for an unknown id, so ids guessed in sequence reveal nothing."""
    practitioner = own_practitioner(user)
    row = db.session.get(model, row_id)
    if row is None or row.practitioner_id != practitioner.id:
        raise NotFound()
    return row


def delete_absence(user: User, absence_id: int) -> None:
    db.session.delete(_own_row(user, Absence, absence_id))
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
    if duration is not None and not is_visit_length(duration):
        errors["duration_minutes"] = [str(visit_length_message())]
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
    return _own_row(user, VisitReason, reason_id)


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
