"""The stored next availability of each practitioner: the sort key of soonest-first search.

`NextAvailability.next_start_at` is the earliest free start of a practitioner
for any of their active reasons, as online booking sees it, or None when
nothing is free within their horizon or they are not bookable online. It is
kept in the same transaction as every change that moves it:

- Every flush records which practitioners its rows touch (appointments,
  absences, opening hours, visit reasons, booking rules, the practice's
  postcode or clinic, and through billing's `bookability_changes` the
  subscriptions); just before the commit their values are computed again
  (`refresh`), under a row lock on PostgreSQL, so two transactions booking
  the last two free slots cannot each store the slot the other one took.
- A booking only takes time away. The row keeps the first `KEPT_STARTS`
  free starts with the time a booking must leave clear for each to stay
  free, so a booking among them drops what it takes and the next one left
  becomes the value, with no computation; when none is left it is computed.
- Time alone only takes slots away (they pass or come within the minimum
  notice) until the practitioner's local midnight opens one more day of
  horizon. `stale_at` says when that happens; from then on the stored value is
  only a lower bound, which search verifies, until the job
  `refresh_stale` computes it again.

Slot holds do not move it. A hold frees its time by expiring, with no
transaction to update anything, so counting holds would leave a value later
than the truth after each expiry. Ignoring them keeps the stored value a lower
bound of what a visitor can book, and the search page verifies what it shows
with holds counted (`webapp.booking.search.search_page_by_next_available`).
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from webapp.accounts.models import PractitionerProfile
from webapp.billing.bookability import bookability_changes, bookable_condition
from webapp.booking.availability import first_free_slots_of_any_reason
from webapp.booking.models import Absence, Appointment, PractitionerSchedule, VisitReason, WeeklyHours
from webapp.booking.settings import schedules_of
from webapp.db import now_utc
from webapp.extensions import db

# What each kind of row changes in the computation; other columns (a message,
# a label, a price) leave the next availability where it is.
_WATCHED = {
    Appointment: ("practitioner_id", "start_at", "end_at", "status"),
    Absence: ("practitioner_id", "start_at", "end_at"),
    WeeklyHours: ("practitioner_id", "weekday", "start_time", "end_time"),
    VisitReason: ("practitioner_id", "duration_minutes", "archived_at"),
    PractitionerSchedule: ("practitioner_id", "timezone", "min_notice_minutes", "horizon_days", "buffer_minutes",
                           "closed_on_public_holidays", "slot_step_minutes"),
}
# The practice's postcode picks its public holidays; its clinic may carry the subscription.
_PROFILE_WATCHED = ("postcode", "clinic_id")
_PENDING = "next_availability_pending"  # key of `Session.info`: practitioner ids to refresh before commit
_PENDING_CLINICS = "next_availability_pending_clinics"
_BOOKED = "next_availability_booked"  # practitioner id -> (start, end) of the bookings of this transaction
REFRESH_BATCH = 500  # practitioners computed together (one `load_availability` per window)
# Free starts kept per practitioner. A booking of the first free slot, the
# usual one under soonest-first search, then costs 2 statements instead of 7
# (B2 booking service on SQLite, CPU median, old and new code alternately on
# a busy machine: 9.9–11.0 → 4.8–5.9 ms).
KEPT_STARTS = 8
# The `stale_at` of a row written before its first computation: stale for everyone.
NEVER_COMPUTED = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class NextAvailability(db.Model):
    """One practitioner's earliest free start, kept by `refresh`."""

    __tablename__ = "next_availabilities"
    __table_args__ = (sa.Index("ix_next_availabilities_stale_at", "stale_at"),)

    practitioner_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_profiles.id", ondelete="CASCADE"),
                                                 primary_key=True)
    # None: nothing free within the horizon, or not bookable online.
    next_start_at: Mapped[dt.datetime | None]
    # From this instant time alone may have moved the value (see the module's docstring).
    stale_at: Mapped[dt.datetime]
    computed_at: Mapped[dt.datetime]  # when the row was last written
    # The first free starts, `FreeStart.encoded`, the first one being `next_start_at`.
    free_starts: Mapped[list] = mapped_column(sa.JSON, default=list, server_default="[]")


@dataclass(frozen=True)
class FreeStart:
    """A stored free start and the time a booking must leave clear for it to
    stay free: its shortest slot, widened by the buffer on both sides."""

    start_at: dt.datetime
    clear_from: dt.datetime
    clear_until: dt.datetime

    @classmethod
    def of(cls, start_at: dt.datetime, end_at: dt.datetime, buffer_minutes: int) -> "FreeStart":
        buffer = dt.timedelta(minutes=buffer_minutes)
        return cls(start_at, start_at - buffer, end_at + buffer)

    def taken_by(self, start_at: dt.datetime, end_at: dt.datetime) -> bool:
        return start_at < self.clear_until and end_at > self.clear_from

    def encoded(self) -> list[str]:
        return [self.start_at.isoformat(), self.clear_from.isoformat(), self.clear_until.isoformat()]

    @classmethod
    def decoded(cls, values: list[str]) -> "FreeStart":
        return cls(*(dt.datetime.fromisoformat(value) for value in values))


def mark_changed(practitioner_ids, session: Session | None = None) -> None:
    """Have these practitioners' values computed again before the transaction
    commits: for changes a flush cannot see (a bulk DELETE of opening hours)."""
    session = session or db.session()
    session.info.setdefault(_PENDING, set()).update(practitioner_ids)


def _changed_columns(state, names) -> bool:
    return any(state.attrs[name].history.has_changes() for name in names)


def _old_and_new(state, name: str) -> set[int]:
    """The current value of a column and the one it replaces, if any."""
    history = state.attrs[name].history
    return {value for value in (*history.added, *history.unchanged, *history.deleted) if value is not None}


# After the flush rather than before it: new rows have their ids by then, and
# SQLAlchemy still shows the flushed changes (`new`, `dirty`, histories) to this hook.
@sa.event.listens_for(Session, "after_flush")
def _record_changes(session: Session, flush_context) -> None:
    """Note which practitioners this flush may move (read in `_refresh_before_commit`)."""
    touched: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Appointment) and obj.status.occupies_time:
            # A new booking only takes time away: `refresh` may only drop stored starts (`_after_bookings`).
            session.info.setdefault(_BOOKED, {}).setdefault(obj.practitioner_id, []).append(
                (obj.start_at, obj.end_at))
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, Appointment) and obj in session.new and obj.status.occupies_time:
            continue
        if type(obj) in _WATCHED:
            touched.add(obj.practitioner_id)
        elif isinstance(obj, PractitionerProfile) and obj in session.new:
            touched.add(obj.id)
    for obj in session.dirty:
        state = sa.inspect(obj)
        if type(obj) in _WATCHED and _changed_columns(state, _WATCHED[type(obj)]):
            touched |= _old_and_new(state, "practitioner_id")
        elif isinstance(obj, PractitionerProfile) and _changed_columns(state, _PROFILE_WATCHED):
            touched.add(obj.id)
    practitioner_ids, clinic_ids = bookability_changes(session)
    touched |= practitioner_ids
    if touched:
        mark_changed(touched, session)
    if clinic_ids:
        session.info.setdefault(_PENDING_CLINICS, set()).update(clinic_ids)


@sa.event.listens_for(Session, "before_commit")
def _refresh_before_commit(session: Session) -> None:
    """The values of the practitioners this transaction touched, computed again inside it."""
    session.flush()  # the commit flushes after this hook: flush first so every change is recorded
    if clinic_ids := session.info.pop(_PENDING_CLINICS, None):
        mark_changed(session.scalars(sa.select(PractitionerProfile.id)
                                     .where(PractitionerProfile.clinic_id.in_(clinic_ids))), session)
    practitioner_ids = session.info.pop(_PENDING, set())
    booked = session.info.pop(_BOOKED, {})
    if practitioner_ids or booked:
        refresh(practitioner_ids | set(booked), session=session,
                only_booked={pid: times for pid, times in booked.items() if pid not in practitioner_ids})


@sa.event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    for key in (_PENDING, _PENDING_CLINICS, _BOOKED):
        session.info.pop(key, None)


def _after_bookings(row, booked: list[tuple[dt.datetime, dt.datetime]], now: dt.datetime) -> dict | None:
    """The row's new values when these bookings are its only change, read from
    its stored starts: {} when they leave it as it is, None when it must be
    computed (it is stale, or no stored start is left)."""
    if row.stale_at < now:
        return None
    if row.next_start_at is None:
        return {}  # bookings only take slots away
    starts = [FreeStart.decoded(values) for values in row.free_starts]
    left = [start for start in starts if not any(start.taken_by(*times) for times in booked)]
    if not left:
        return None
    if len(left) == len(starts):
        return {}
    # The minimum notice has not changed: the instant the first start passes it moves with the start.
    return {"next_start_at": left[0].start_at, "stale_at": row.stale_at + (left[0].start_at - row.next_start_at),
            "free_starts": [start.encoded() for start in left]}


def next_local_midnight(timezone: str, now: dt.datetime) -> dt.datetime:
    """When the practitioner's horizon opens one more day."""
    tz = zoneinfo.ZoneInfo(timezone)
    tomorrow = now.astimezone(tz).date() + dt.timedelta(days=1)
    return dt.datetime.combine(tomorrow, dt.time(), tz).astimezone(dt.UTC)


def compute(practitioner_ids, *, now: dt.datetime | None = None) -> dict[int, dict]:
    """The row values of each practitioner (next start, stale at, free
    starts), as `refresh` stores them, in a constant number of queries: holds
    ignored, no start when not bookable."""
    now = now or now_utc()
    practitioner_ids = list(practitioner_ids)
    bookable = set(db.session.scalars(sa.select(PractitionerProfile.id).where(
        PractitionerProfile.id.in_(practitioner_ids), bookable_condition(PractitionerProfile.id))))
    schedules = schedules_of(practitioner_ids)
    first_slots = first_free_slots_of_any_reason(sorted(bookable), KEPT_STARTS, now=now, count_holds=False,
                                                 schedules=schedules)
    result = {}
    for pid in practitioner_ids:
        slots, schedule = first_slots.get(pid, []), schedules[pid]
        if not slots:
            # Only the horizon's next day can bring a slot (or a change, which refreshes it).
            start, stale_at = None, next_local_midnight(schedule.timezone, now)
        else:
            # Until then this slot stays bookable unless something else changes.
            start = slots[0].start_at
            stale_at = start - dt.timedelta(minutes=schedule.min_notice_minutes)
        result[pid] = {"next_start_at": start, "stale_at": stale_at, "free_starts": [
            FreeStart.of(slot.start_at, slot.end_at, schedule.buffer_minutes).encoded() for slot in slots]}
    return result


def _insert_missing(session: Session, practitioner_ids: list[int], now: dt.datetime) -> None:
    rows = [{"practitioner_id": pid, "next_start_at": None, "stale_at": NEVER_COMPUTED, "computed_at": now}
            for pid in practitioner_ids]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(NextAvailability).on_conflict_do_nothing(), rows)


def _lock(session: Session, practitioner_ids: list[int]) -> list:
    return session.execute(sa.select(NextAvailability.practitioner_id, NextAvailability.next_start_at,
                                     NextAvailability.stale_at, NextAvailability.free_starts)
                           .where(NextAvailability.practitioner_id.in_(practitioner_ids))
                           .order_by(NextAvailability.practitioner_id).with_for_update()).all()


def refresh(practitioner_ids, *, session: Session | None = None, now: dt.datetime | None = None,
            only_booked: dict[int, list[tuple[dt.datetime, dt.datetime]]] | None = None) -> None:
    """Compute and store the next availability of these practitioners.

    On PostgreSQL their rows are locked first (in id order, so two refreshes
    cannot deadlock) and computed afterwards: a concurrent transaction that
    booked another of their slots has then committed, and READ COMMITTED lets
    the computation see it. SQLite lets one writer at a time in anyway.
    `only_booked` names practitioners whose only change is these new
    bookings: their stored starts are read under the lock and those the
    bookings take are dropped, which spares most bookings the computation."""
    session = session or db.session()
    now = now or now_utc()
    only_booked = only_booked or {}
    ids = sorted(set(practitioner_ids))
    for first in range(0, len(ids), REFRESH_BATCH):
        batch = ids[first:first + REFRESH_BATCH]
        locked = _lock(session, batch)
        if missing := set(batch) - {row.practitioner_id for row in locked}:
            # Rows first written here; a concurrent insert of the same row waits for this one, or the reverse.
            _insert_missing(session, sorted(missing), now)
            locked = _lock(session, batch)
        values, to_compute = {}, []
        for row in locked:
            pid = row.practitioner_id
            kept = _after_bookings(row, only_booked[pid], now) if pid in only_booked else None
            if kept is None:
                to_compute.append(pid)
            elif kept:
                values[pid] = kept
        if to_compute:
            values |= compute(to_compute, now=now)
        if values:
            session.execute(sa.update(NextAvailability), [
                {"practitioner_id": pid, "computed_at": now} | row for pid, row in values.items()])


def stored(practitioner_ids) -> dict[int, NextAvailability]:
    return {row.practitioner_id: row for row in db.session.scalars(
        sa.select(NextAvailability).where(NextAvailability.practitioner_id.in_(list(practitioner_ids))))}


def refresh_stale(now: dt.datetime | None = None) -> int:
    """The job: compute again the values time has moved (past `stale_at`) and
    those of practitioners who have none yet, a batch per transaction.
    Returns how many were computed."""
    now = now or now_utc()
    done = 0
    while True:
        stale = list(db.session.scalars(
            sa.select(NextAvailability.practitioner_id).where(NextAvailability.stale_at < now)
            .limit(REFRESH_BATCH)))
        missing = list(db.session.scalars(
            sa.select(PractitionerProfile.id).where(~sa.exists().where(
                NextAvailability.practitioner_id == PractitionerProfile.id)).limit(REFRESH_BATCH)))
        if not stale and not missing:
            return done
        refresh(stale + missing, now=now)
        db.session.commit()
        done += len(stale) + len(missing)
