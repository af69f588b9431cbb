"""Absences over booked appointments: list them before adding the absence, and cancel those the practitioner chooses."""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from webapp.accounts.models import User
from webapp.booking import agendas, appointments, settings
from webapp.booking.models import Absence, Appointment, AppointmentStatus
from webapp.extensions import db


def booked_during(user: User, start_at: dt.datetime, end_at: dt.datetime) -> list[Appointment]:
    """The practitioner's booked appointments that an absence from `start_at`
    to `end_at` would overlap, soonest first (403 for anyone but a practitioner)."""
    practitioner = agendas.own_practitioner(user)
    return list(db.session.scalars(
        sa.select(Appointment).options(joinedload(Appointment.patient), joinedload(Appointment.visit_reason))
        .where(Appointment.practitioner_id == practitioner.id, Appointment.status == AppointmentStatus.BOOKED,
               Appointment.start_at < end_at, Appointment.end_at > start_at,
               Appointment.start_at > start_at - dt.timedelta(days=1))
        .order_by(Appointment.start_at, Appointment.id)))


def add_absence_over_appointments(user: User, *, start_at: dt.datetime, end_at: dt.datetime, reason: str = "",
                                  cancel_ids: set[int] = frozenset(), message: str = "",
                                  now: dt.datetime | None = None) -> tuple[Absence, list[Appointment]]:
    """Add the absence and cancel, among the booked appointments it overlaps,
    those in `cancel_ids`, each through the usual practitioner cancellation:
    the patient is told, with `message` as the reason (required then), and the
    waiting list is offered nothing since the time is now an absence. Others
    stay booked. All or nothing: one refused cancellation adds nothing."""
    absence = settings.add_absence(user, start_at=start_at, end_at=end_at, reason=reason)
    cancelled = [appointments.cancel_appointment(appointment.id, by=user, reason=message, now=now)
                 for appointment in booked_during(user, start_at, end_at) if appointment.id in cancel_ids]
    return absence, cancelled
