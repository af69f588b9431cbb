"""The demo world shows real slots, and notebooks opened by past visits only."""

import sqlalchemy as sa

from webapp.accounts.models import PatientProfile, PractitionerProfile
from webapp.booking import availability, visits
from webapp.booking.models import Appointment, AppointmentStatus, VisitReason, WeeklyHours
from webapp.extensions import db


def test_seed_demo_opens_every_agenda_and_books_the_demo_patients(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    # The applicants awaiting verification have not opened an agenda yet.
    practitioner_ids = list(db.session.scalars(
        sa.select(PractitionerProfile.id).where(PractitionerProfile.is_verified)))
    assert len(practitioner_ids) == 20
    with_reasons = set(db.session.scalars(sa.select(VisitReason.practitioner_id)))
    with_hours = set(db.session.scalars(sa.select(WeeklyHours.practitioner_id)))
    assert set(practitioner_ids) == with_reasons == with_hours
    next_available = availability.next_available_starts(practitioner_ids)
    assert all(next_available[pid] is not None for pid in practitioner_ids)
    for patient_id in db.session.scalars(sa.select(PatientProfile.id)):
        statuses = set(db.session.scalars(sa.select(Appointment.status).where(Appointment.patient_id == patient_id)))
        assert AppointmentStatus.COMPLETED in statuses and AppointmentStatus.BOOKED in statuses
        treating = list(db.session.scalars(sa.select(PractitionerProfile.id).where(
            PractitionerProfile.id.in_(
                sa.select(Appointment.practitioner_id).where(Appointment.patient_id == patient_id)))))
        # Past visits opened the notebooks; the upcoming bookings share nothing ahead.
        assert all(visits.has_begun_visit(pid, patient_id) for pid in treating)
    assert not db.session.scalar(sa.select(sa.func.count(Appointment.id)).where(Appointment.shares_notebook_ahead))
    for appointment in db.session.scalars(sa.select(Appointment).where(Appointment.status == AppointmentStatus.BOOKED)):
        assert not visits.visit_has_begun(appointment)
