"""The free slots of several practitioners named by their RPPS number, in one request.

The regional scheduling query of the Service d'Accès aux Soins (served as
FHIR by webapp.fhir): a regulator asks for the free time of up to
MAX_PRACTITIONERS practitioners over a few days. It costs two queries
whatever their number: the practitioners with their rules and reasons, then
`load_availability` for all of them.
"""

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass, field
from typing import NamedTuple

import sqlalchemy as sa

from webapp.accounts.models import PractitionerProfile
from webapp.billing.bookability import bookable_condition
from webapp.booking import slots as slot_rules
from webapp.booking.availability import load_availability
from webapp.booking.models import PractitionerSchedule, VisitReason
from webapp.booking.rules import MAX_HORIZON_DAYS, SCHEDULE_DEFAULTS
from webapp.db import now_utc
from webapp.errors import InvalidInput
from webapp.extensions import db

# One request names at most this many practitioners (the SAS asks 25 at a time)...
MAX_PRACTITIONERS = 25
# ... over at most this many days: the cost grows with both.
MAX_SEARCH_DAYS = 14
_INSTANT_STEP = dt.timedelta(microseconds=1)


@dataclass
class ListedPractice:
    """A verified practitioner as the public sees them, with what their slots need."""

    practitioner: PractitionerProfile
    schedule: PractitionerSchedule
    is_bookable: bool  # online (billing): a practitioner who is not has no free slot
    reasons: list[VisitReason] = field(default_factory=list)  # active ones, oldest first


class FreeSlot(NamedTuple):  # a tuple: thousands per request, cheaper to make than a dataclass
    practitioner_id: int
    reason: VisitReason
    start_at: dt.datetime  # UTC
    end_at: dt.datetime
    timezone: zoneinfo.ZoneInfo  # the practitioner's


@functools.cache
def _listed_practices_statement(by_rpps: bool) -> sa.Select:
    # Built once with an expanding parameter, like the availability query.
    key = PractitionerProfile.rpps if by_rpps else PractitionerProfile.id
    active_reason = sa.and_(VisitReason.practitioner_id == PractitionerProfile.id, VisitReason.archived_at.is_(None))
    return (sa.select(PractitionerProfile, PractitionerSchedule, VisitReason,
                      bookable_condition(PractitionerProfile.id))
            .outerjoin(PractitionerSchedule, PractitionerSchedule.practitioner_id == PractitionerProfile.id)
            .outerjoin(VisitReason, active_reason)
            .where(key.in_(sa.bindparam("keys", expanding=True)), PractitionerProfile.is_verified)
            .order_by(PractitionerProfile.id, VisitReason.id))


def listed_practices(*, rpps: list[str] | None = None,
                     practitioner_ids: list[int] | None = None) -> list[ListedPractice]:
    """The verified practitioners among those named (by RPPS or by id), with
    their booking rules, whether they are bookable online and their active
    visit reasons, in one query. Unknown and unverified ones are simply
    absent, so an answer says nothing about who else is registered."""
    by_rpps = rpps is not None
    keys = list(dict.fromkeys(rpps if by_rpps else practitioner_ids or []))
    if not keys:
        return []
    found: dict[int, ListedPractice] = {}
    for practitioner, schedule, reason, bookable in db.session.execute(_listed_practices_statement(by_rpps),
                                                                       {"keys": keys}):
        practice = found.get(practitioner.id)
        if practice is None:
            schedule = schedule or PractitionerSchedule(practitioner_id=practitioner.id, **SCHEDULE_DEFAULTS)
            practice = found[practitioner.id] = ListedPractice(practitioner, schedule, bool(bookable))
        if reason is not None:
            practice.reasons.append(reason)
    return list(found.values())


def _instant(bound: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """A bound as an instant: an aware one is one already; a naive one is a
    wall-clock time in the practitioner's timezone."""
    return bound if bound.tzinfo is not None else bound.replace(tzinfo=tz)


def regional_free_slots(rpps: list[str], start_from: dt.datetime, start_before: dt.datetime, *,
                        now: dt.datetime | None = None) -> tuple[list[ListedPractice], list[FreeSlot]]:
    """The free slots, as online booking offers them (notice, horizon,
    buffer, holidays, absences, holds), of the verified practitioners
    bookable online among `rpps`, for each active visit reason, starting in
    [start_from, start_before) — naive bounds are read in each
    practitioner's timezone. Returns the practices with slots and the slots
    in chronological order; two queries whatever the number of practitioners."""
    if len(rpps) > MAX_PRACTITIONERS:
        raise InvalidInput()  # the API layer refuses it first, with its own message
    now = now or now_utc()
    practices = [practice for practice in listed_practices(rpps=rpps) if practice.is_bookable and practice.reasons]
    if not practices:
        return [], []
    windows = {}
    for practice in practices:
        tz = zoneinfo.ZoneInfo(practice.schedule.timezone)
        lower, upper = _instant(start_from, tz), _instant(start_before, tz)
        windows[practice.practitioner.id] = (lower, upper, lower.astimezone(tz).date(),
                                             (upper - _INSTANT_STEP).astimezone(tz).date())
    today = now.date()
    # UTC's date may be a day off the local one; nothing is free before today or past the longest horizon.
    first_day = max(min(window[2] for window in windows.values()), today - dt.timedelta(days=1))
    last_day = min(max(window[3] for window in windows.values()), today + dt.timedelta(days=MAX_HORIZON_DAYS + 1))
    if first_day > last_day:
        return [], []
    availabilities = load_availability(list(windows), first_day, last_day,
                                       schedules={practice.practitioner.id: practice.schedule
                                                  for practice in practices}, now=now)
    found: list[FreeSlot] = []
    with_slots = []
    for practice in practices:
        pid = practice.practitioner.id
        lower, upper, local_first, local_last = windows[pid]
        availability = availabilities[pid]
        busy, tz = availability.busy(), availability.rules.timezone
        before = len(found)
        by_duration: dict[int, list[slot_rules.Slot]] = {}  # reasons of the same length share their slots
        for reason in practice.reasons:
            free = by_duration.get(reason.duration_minutes)
            if free is None:
                free = by_duration[reason.duration_minutes] = [
                    slot for slot in slot_rules.free_slots(
                        rules=availability.rules, opening=availability.opening, busy=busy, first_day=local_first,
                        last_day=local_last, duration_minutes=reason.duration_minutes, now=now)
                    if lower <= slot.start_at < upper]
            found += [FreeSlot(pid, reason, slot.start_at, slot.end_at, tz) for slot in free]
        if len(found) > before:
            with_slots.append(practice)
    found.sort(key=lambda slot: (slot.start_at, slot.practitioner_id, slot.reason.id))
    return with_slots, found

