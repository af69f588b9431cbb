"""Booking factories: visit reasons, opening hours, appointments (committed)."""

import datetime as dt
from zoneinfo import ZoneInfo

from tests.factories import make_practitioner
from webapp.booking.appointments import occupied_cells_for
from webapp.booking.models import Appointment, AppointmentStatus, PractitionerSchedule, VisitReason, WeeklyHours
from webapp.extensions import db


def make_visit_reason(practitioner, **overrides) -> VisitReason:
    values = {"label": "Consultation", "duration_minutes": 30, "price_cents": 3000}
    reason = VisitReason(practitioner_id=practitioner.id, **(values | overrides))
    db.session.add(reason)
    db.session.commit()
    return reason


def make_schedule(practitioner, **overrides) -> PractitionerSchedule:
    values = {"min_notice_minutes": 0, "horizon_days": 90, "buffer_minutes": 0, "cancellation_deadline_hours": 24}
    schedule = PractitionerSchedule(practitioner_id=practitioner.id, **(values | overrides))
    db.session.add(schedule)
    db.session.commit()
    return schedule


def make_weekly_hours(practitioner, ranges=None) -> list[WeeklyHours]:
    """Opening hours; by default Monday to Friday 09:00-12:00 and 14:00-18:00."""
    if ranges is None:
        ranges = [(day, start, end) for day in range(5) for start, end in (("09:00", "12:00"), ("14:00", "18:00"))]
    rows = [WeeklyHours(practitioner_id=practitioner.id, weekday=day, start_time=dt.time.fromisoformat(start),
                        end_time=dt.time.fromisoformat(end)) for day, start, end in ranges]
    db.session.add_all(rows)
    db.session.commit()
    return rows


def make_appointment(practitioner, patient, start_at: dt.datetime, *, reason: VisitReason | None = None,
                     status: AppointmentStatus = AppointmentStatus.BOOKED, **overrides) -> Appointment:
    """An appointment written straight to the database, with its occupied cells."""
    reason = reason or make_visit_reason(practitioner)
    end_at = start_at + dt.timedelta(minutes=reason.duration_minutes)
    appointment = Appointment(practitioner_id=practitioner.id, patient_id=patient.id, visit_reason_id=reason.id,
                              start_at=start_at, end_at=end_at, status=status, **overrides)
    if status.occupies_time:
        appointment.cells = occupied_cells_for(practitioner.id, start_at, end_at)
    db.session.add(appointment)
    db.session.commit()
    return appointment


PARIS = ZoneInfo("Europe/Paris")


def local_start(days_ahead: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A start `days_ahead` days from today at a local Paris time."""
    day = dt.datetime.now(PARIS).date() + dt.timedelta(days=days_ahead)
    return dt.datetime.combine(day, dt.time(hour, minute), PARIS)


def open_practice(practitioner=None, *, hours=("08:00", "20:00"), reason_overrides=None, **schedule):
    """A practitioner open every day (public holidays included, no notice) with one 30-minute reason."""
    practitioner = practitioner or make_practitioner()
    make_schedule(practitioner, **({"closed_on_public_holidays": False, "horizon_days": 365} | schedule))
    make_weekly_hours(practitioner, [(day, *hours) for day in range(7)])
    reason = make_visit_reason(practitioner, **(reason_overrides or {}))
    return practitioner, reason
