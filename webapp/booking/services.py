"""Booking rules: settings, slots, appointments, waiting list, calendar feeds.

Services flush but never commit; the caller wraps them in `transaction()`.
"""

import datetime as dt

import sqlalchemy as sa

from webapp.booking.models import CELL_MINUTES, Appointment, AppointmentStatus, OccupiedCell
from webapp.extensions import db


def treated_patient_ids(practitioner_id: int) -> sa.Select:
    """The patient profiles a practitioner has or had a non-cancelled
    appointment with, as a SELECT of ids to use in other queries."""
    return (
        sa.select(Appointment.patient_id)
        .where(Appointment.practitioner_id == practitioner_id, Appointment.status != AppointmentStatus.CANCELLED)
        .distinct()
    )


def has_treating_relationship(practitioner_id: int, patient_id: int) -> bool:
    """True when the practitioner has or had a non-cancelled appointment with
    this patient profile (past, upcoming, completed or missed)."""
    return bool(db.session.scalar(sa.select(sa.exists().where(
        Appointment.practitioner_id == practitioner_id,
        Appointment.patient_id == patient_id,
        Appointment.status != AppointmentStatus.CANCELLED,
    ))))


def occupied_cells_for(practitioner_id: int, start_at: dt.datetime, end_at: dt.datetime) -> list[OccupiedCell]:
    """The cells an appointment from `start_at` to `end_at` holds."""
    cell = dt.timedelta(minutes=CELL_MINUTES)
    count = (end_at - start_at) // cell
    return [OccupiedCell(practitioner_id=practitioner_id, cell_start_at=start_at + index * cell) for index in range(count)]
