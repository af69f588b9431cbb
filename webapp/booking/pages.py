"""Page services: everything one composed booking page shows, as one object.

Like the notebook's `notebook_page`: the view parses the request, calls one
of these with plain arguments and renders the object it returns; the rules
each page applies (which reason is shown, which week, the deadlines) live
here and in the topic modules they call, not in the view.
"""

import datetime as dt
from dataclasses import dataclass, fields
from zoneinfo import ZoneInfo

from webapp.accounts.models import PractitionerProfile, User
from webapp.billing.bookability import is_bookable
from webapp.booking import agendas, appointments, availability, next_slots, settings, waitlist
from webapp.booking.cancellation_window import deadline_before, window_opens_for
from webapp.booking.models import Appointment, PractitionerSchedule, VisitReason, WaitlistEntry
from webapp.db import now_utc
from webapp.extensions import db

COMPACT_SLOTS_SHOWN = 6  # the practitioner page's short list (phones)
PAST_APPOINTMENTS_SHOWN = 50


class Page:
    """A page's fields as the template's variables."""

    def context(self) -> dict:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def _monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def local_today(timezone: str, now: dt.datetime | None = None) -> dt.date:
    return (now or now_utc()).astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class Week:
    """The week a slot picker shows: its Monday, its days, and the previous week's Monday if it may be shown."""

    monday: dt.date
    days: list[dt.date]
    previous_week: dt.date | None


def picker_week(timezone: str, asked: dt.date | None, first_free: dt.datetime | None = None) -> Week:
    """The week `asked` (never before the current one), else the week of `first_free`."""
    this_monday = _monday_of(local_today(timezone))
    opening = _monday_of(first_free.astimezone(ZoneInfo(timezone)).date()) if first_free else this_monday
    monday = max(_monday_of(asked or opening), this_monday)
    previous = monday - dt.timedelta(days=7) if monday > this_monday else None
    return Week(monday, [monday + dt.timedelta(days=offset) for offset in range(7)], previous)


def slots_by_day(slots, days: list[dt.date], timezone: str) -> list[tuple[dt.date, list]]:
    tz = ZoneInfo(timezone)
    grouped: dict[dt.date, list] = {day: [] for day in days}
    for slot in slots:
        grouped.setdefault(slot.start_at.astimezone(tz).date(), []).append(slot)
    return [(day, grouped[day]) for day in days]


@dataclass(frozen=True)
class PractitionerPage(Page):
    practitioner: PractitionerProfile
    reasons: list[VisitReason]
    reason: VisitReason | None  # the one asked for, else the practitioner's usual one
    timezone: str
    bookable: bool
    soonest: list  # the next free slots (the compact list)
    monday: dt.date
    week: list[tuple[dt.date, list]]  # the week's slots, day by day
    previous_week: dt.date | None
    next_week: dt.date | None  # None past the practitioner's horizon


def practitioner_page(practitioner_id: int, *, reason_id: int | None = None,
                      asked_week: dt.date | None = None) -> PractitionerPage:
    """A practitioner's public page: the visit reasons, and for the chosen one
    the next free slots and a week of slots (404 for one not listed)."""
    practitioner = agendas.listed_practitioner(practitioner_id)
    reasons = settings.visit_reasons_of(practitioner.id)
    reason = next((r for r in reasons if r.id == reason_id), None)
    if reason is None and reasons:
        reason = next_slots.default_reasons([practitioner.id]).get(practitioner.id)
    schedule = settings.schedule_of(practitioner.id)
    bookable = is_bookable(practitioner.id)
    offered = reason is not None and bookable
    soonest = next_slots.next_free_slots({practitioner.id: reason}, COMPACT_SLOTS_SHOWN)[practitioner.id] \
        if offered else []
    week = picker_week(schedule.timezone, asked_week, soonest[0].start_at if soonest else None)
    slots = availability.available_slots(practitioner.id, reason.id, week.days[0], week.days[-1]) if offered else []
    horizon_end = local_today(schedule.timezone) + dt.timedelta(days=schedule.horizon_days)
    next_monday = week.monday + dt.timedelta(days=7)
    return PractitionerPage(
        practitioner=practitioner, reasons=reasons, reason=reason, timezone=schedule.timezone, bookable=bookable,
        soonest=soonest, monday=week.monday, week=slots_by_day(slots, week.days, schedule.timezone),
        previous_week=week.previous_week, next_week=next_monday if next_monday <= horizon_end else None,
    )


@dataclass(frozen=True)
class MyAppointmentsPage(Page):
    upcoming: list[Appointment]
    past: list[Appointment]
    waitlist: list[WaitlistEntry]
    schedules: dict[int, PractitionerSchedule]
    deadlines: dict[int, dt.datetime]  # appointment id -> until when it can be cancelled or moved online


def my_appointments_page(user: User) -> MyAppointmentsPage:
    """The patient side's appointments (own and relatives'), upcoming with
    their cancellation deadlines, recent past ones, and open waiting-list entries."""
    upcoming = list(db.session.scalars(appointments.appointments_of(user, "upcoming")))
    past = list(db.session.scalars(appointments.appointments_of(user, "past").limit(PAST_APPOINTMENTS_SHOWN)))
    entries = waitlist.waitlist_entries_of(user)
    schedules = settings.schedules_of({item.practitioner_id for item in [*upcoming, *past, *entries]})
    deadlines = {appointment.id: deadline_before(
        appointment.start_at, schedules[appointment.practitioner_id].cancellation_deadline_hours)
        for appointment in upcoming}
    return MyAppointmentsPage(upcoming=upcoming, past=past, waitlist=entries, schedules=schedules,
                              deadlines=deadlines)


@dataclass(frozen=True)
class ReschedulePage(Page):
    appointment: Appointment
    timezone: str
    monday: dt.date
    week: list[tuple[dt.date, list]]  # the week's free slots for the same visit reason, day by day
    previous_week: dt.date | None
    next_week: dt.date
    window_opens: dt.datetime  # a new start before it could no longer be cancelled online
    window_hours: int


def reschedule_page(user: User, appointment_id: int, *, asked_week: dt.date | None = None) -> ReschedulePage:
    """Where an appointment the user may see can move: a week of free slots for its visit reason."""
    appointment = appointments.appointment_for(user, appointment_id)
    schedule = settings.schedule_of(appointment.practitioner_id)
    week = picker_week(schedule.timezone, asked_week)
    slots = availability.available_slots(appointment.practitioner_id, appointment.visit_reason_id,
                                         week.days[0], week.days[-1])
    return ReschedulePage(
        appointment=appointment, timezone=schedule.timezone, monday=week.monday,
        week=slots_by_day(slots, week.days, schedule.timezone), previous_week=week.previous_week,
        next_week=week.monday + dt.timedelta(days=7),
        window_opens=window_opens_for(appointment.practitioner_id),
        window_hours=schedule.cancellation_deadline_hours,
    )
