"""The treating relationship: which patients a practitioner treats (asked by the notebook, invitations, the DMP)."""

import datetime as dt

import sqlalchemy as sa

from webapp.booking.models import Appointment, AppointmentStatus
from webapp.booking.visits import may_read_notebook
from webapp.extensions import db


def treated_patient_ids(practitioner_id: int) -> sa.Select:
    """The patient profiles a practitioner has or had a non-cancelled
    appointment with (upcoming ones included), as a SELECT of ids to use in
    other queries: the practitioners a patient may revoke or hide entries
    from. Who may read the notebook is `readable_patient_ids`."""
    return (
        sa.select(Appointment.patient_id)
        .where(Appointment.practitioner_id == practitioner_id, Appointment.status != AppointmentStatus.CANCELLED)
        .distinct()
    )


def has_appointment_with(practitioner_id: int, patient_id: int) -> bool:
    """True when the practitioner has or had a non-cancelled appointment with
    this patient profile (past, upcoming, completed or missed): a returning
    patient, one the practice may invite. It opens no notebook."""
    return bool(db.session.scalar(sa.select(sa.exists().where(
        Appointment.practitioner_id == practitioner_id, Appointment.patient_id == patient_id,
        Appointment.status != AppointmentStatus.CANCELLED))))


def has_treating_relationship(practitioner_id: int, patient_id: int, *, now: dt.datetime | None = None) -> bool:
    """True when the practitioner treats the patient in the notebook's sense:
    a visit has begun, or the patient shared the notebook when booking
    (`webapp.booking.visits.may_read_notebook`). A booking alone, made by
    someone else, is not enough."""
    return may_read_notebook(practitioner_id, patient_id, now=now)
