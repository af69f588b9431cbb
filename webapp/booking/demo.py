"""Demo booking data: visit reasons, opening hours, absences and appointments.

Called by `flask seed-demo` after the demo accounts exist, so that every demo
practitioner shows real slots and the demo patients have past and upcoming
appointments; then the agendas fill up for this week and next (demo_agenda).
The past visits are what opens the notebooks to their practitioners
(webapp.booking.visits); the upcoming bookings share nothing ahead.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from webapp.accounts.models import PatientProfile, PatientProxy, PractitionerProfile
from webapp.booking import appointments, availability
from webapp.booking.demo_agenda import fill_demo_agendas
from webapp.booking.models import (
    Absence,
    Appointment,
    AppointmentStatus,
    PractitionerSchedule,
    VisitMode,
    VisitReason,
    WeeklyHours,
)
from webapp.booking.rules import DEFAULT_TIMEZONE
from webapp.db import now_utc
from webapp.extensions import db

# (label, minutes, price in cents, new patients, returning patients, mode)
GENERAL_REASONS = [
    ("Consultation", 20, 3000, True, True, VisitMode.IN_PERSON),
    ("Première consultation", 30, 3000, True, False, VisitMode.IN_PERSON),
    ("Téléconsultation de suivi", 15, 2500, False, True, VisitMode.VIDEO),
]
SPECIALIST_REASONS = [
    ("Première consultation", 40, 6000, True, False, VisitMode.IN_PERSON),
    ("Consultation de suivi", 20, 5000, False, True, VisitMode.IN_PERSON),
]
THERAPY_REASONS = [
    ("Séance", 45, 5500, True, True, VisitMode.IN_PERSON),
    ("Bilan initial", 60, 7000, True, False, VisitMode.IN_PERSON),
]
THERAPY_SPECIALTIES = {"physiotherapist", "osteopath", "psychologist", "speech_therapist", "midwife"}
GENERAL_SPECIALTIES = {"general_practitioner", "pediatrician"}
WEEKDAY_RANGES = [(dt.time(9), dt.time(12, 30)), (dt.time(14), dt.time(18, 30))]
SATURDAY_RANGES = [(dt.time(9), dt.time(12))]


def _reasons_for(specialty: str) -> list[tuple]:
    if specialty in GENERAL_SPECIALTIES:
        return GENERAL_REASONS
    if specialty in THERAPY_SPECIALTIES:
        return THERAPY_REASONS
    return SPECIALIST_REASONS


def _open_practice(practitioner: PractitionerProfile, index: int) -> list[VisitReason]:
    db.session.add(PractitionerSchedule(
        practitioner_id=practitioner.id, timezone=DEFAULT_TIMEZONE, min_notice_minutes=60, horizon_days=90,
        buffer_minutes=5 if index % 3 == 0 else 0, cancellation_deadline_hours=24, closed_on_public_holidays=True,
    ))
    for weekday in range(5):
        # Wednesday afternoons off for every other practitioner.
        ranges = WEEKDAY_RANGES[:1] if weekday == 2 and index % 2 else WEEKDAY_RANGES
        db.session.add_all(WeeklyHours(practitioner_id=practitioner.id, weekday=weekday, start_time=start,
                                       end_time=end) for start, end in ranges)
    if index % 4 == 1:
        db.session.add_all(WeeklyHours(practitioner_id=practitioner.id, weekday=5, start_time=start, end_time=end)
                           for start, end in SATURDAY_RANGES)
    reasons = [
        VisitReason(practitioner_id=practitioner.id, label=label, duration_minutes=minutes, price_cents=price,
                    new_patients=new, returning_patients=returning, mode=mode)
        for label, minutes, price, new, returning, mode in _reasons_for(practitioner.specialty)
    ]
    db.session.add_all(reasons)
    return reasons


def _add_absences(practitioner: PractitionerProfile, index: int, today: dt.date) -> None:
    tz = ZoneInfo(DEFAULT_TIMEZONE)
    if index % 5 == 0:
        start = today + dt.timedelta(days=21 + index)
        db.session.add(Absence(practitioner_id=practitioner.id, reason="Congés",
                               start_at=dt.datetime.combine(start, dt.time(), tz),
                               end_at=dt.datetime.combine(start + dt.timedelta(days=7), dt.time(), tz)))
    if index % 5 == 2:
        day = today + dt.timedelta(days=10)
        db.session.add(Absence(practitioner_id=practitioner.id, reason="Formation",
                               start_at=dt.datetime.combine(day, dt.time(14), tz),
                               end_at=dt.datetime.combine(day, dt.time(19), tz)))


def _appointment(practitioner, patient, reason, start_at, status, booked_by_user_id) -> Appointment:
    appointment = Appointment(
        practitioner_id=practitioner.id, patient_id=patient.id, visit_reason_id=reason.id, start_at=start_at,
        end_at=start_at + dt.timedelta(minutes=reason.duration_minutes), status=status,
        booked_by_user_id=booked_by_user_id,
    )
    if status.occupies_time:
        appointment.cells = appointments.occupied_cells_for(practitioner.id, appointment.start_at, appointment.end_at)
    db.session.add(appointment)
    return appointment


def _past_weekday_morning(today: dt.date, days_back: int, hour: int) -> dt.datetime:
    day = today - dt.timedelta(days=days_back)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour), ZoneInfo(DEFAULT_TIMEZONE))


def seed_booking_demo() -> None:
    """Open every demo practitioner's agenda and give the demo patients a history."""
    today = now_utc().astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()
    practitioners = list(db.session.scalars(sa.select(PractitionerProfile).order_by(PractitionerProfile.id)))
    reasons = {}
    for index, practitioner in enumerate(practitioners):
        reasons[practitioner.id] = _open_practice(practitioner, index)
        _add_absences(practitioner, index, today)
    db.session.flush()

    patients = list(db.session.scalars(sa.select(PatientProfile).order_by(PatientProfile.id)))
    bookers = {row.patient_id: row.user_id for row in db.session.scalars(sa.select(PatientProxy))}
    for number, patient in enumerate(patients):
        booked_by = patient.account_id or bookers.get(patient.id)
        treating = [practitioners[(number * 3 + offset) % len(practitioners)] for offset in range(2)]
        for visit, practitioner in enumerate(treating):
            first_reason = reasons[practitioner.id][0]
            _appointment(practitioner, patient, first_reason,
                         _past_weekday_morning(today, 40 + 25 * visit + number, 9 + visit),
                         AppointmentStatus.COMPLETED, booked_by)
        if number % 3 == 0:
            _appointment(treating[1], patient, reasons[treating[1].id][0],
                         _past_weekday_morning(today, 12 + number, 11), AppointmentStatus.NO_SHOW, booked_by)
        db.session.flush()
        # Upcoming: the first free slot a week or two ahead, through the real slot rules.
        practitioner = treating[0]
        reason = reasons[practitioner.id][0]
        first_day = today + dt.timedelta(days=7 + number)
        free = availability.available_slots(practitioner.id, reason.id, first_day, first_day + dt.timedelta(days=14))
        if free:
            _appointment(practitioner, patient, reason, free[0].start_at, AppointmentStatus.BOOKED, booked_by)
            db.session.flush()
    fill_demo_agendas()
