"""The demo's agendas are busy this week and next, as a practice's are: free
slots of the opening hours, no overlap, past visits done, the rest to come."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from webapp.accounts.models import PatientProfile, PractitionerProfile
from webapp.booking import availability, settings
from webapp.booking import visits as booking_visits
from webapp.booking.models import Absence, Appointment, AppointmentStatus, WeeklyHours
from webapp.extensions import db

PARIS = ZoneInfo("Europe/Paris")
DONE = {AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW}


def _weekly_opening(practitioner_id: int) -> dt.timedelta:
    return sum((dt.datetime.combine(dt.date.min, row.end_time) - dt.datetime.combine(dt.date.min, row.start_time)
                for row in db.session.scalars(
                    sa.select(WeeklyHours).where(WeeklyHours.practitioner_id == practitioner_id))),
               dt.timedelta())


def _seed(app) -> None:
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("moment", "this_week_minimum"), [
    (dt.datetime(2026, 12, 9, 10, 7, tzinfo=PARIS), 15),  # a Wednesday morning
    (dt.datetime(2026, 12, 12, 23, 0, tzinfo=PARIS), 20),  # Saturday night: this week is all past
])
def test_demo_agendas_are_busy_this_week_and_next(app, frozen_clock, moment, this_week_minimum):
    now = frozen_clock.set(moment.astimezone(dt.UTC))
    _seed(app)
    monday = moment.date() - dt.timedelta(days=moment.weekday())
    weeks = [(dt.datetime.combine(monday + dt.timedelta(weeks=n), dt.time(), PARIS),
              dt.datetime.combine(monday + dt.timedelta(weeks=n + 1), dt.time(), PARIS)) for n in (0, 1)]
    practitioners = list(db.session.scalars(sa.select(PractitionerProfile).where(PractitionerProfile.is_verified)))
    assert len(practitioners) == 20
    for practitioner in practitioners:
        counts = [db.session.scalar(sa.select(sa.func.count(Appointment.id)).where(
            Appointment.practitioner_id == practitioner.id, Appointment.start_at >= start, Appointment.start_at < end))
            for start, end in weeks]
        assert counts[0] >= this_week_minimum and counts[1] >= 20, (practitioner.full_name, counts)
        # At least 40 % of next week's opening hours are booked (the practices with a buffer between visits fill less).
        booked = sum((end_at - start_at for start_at, end_at in db.session.execute(
            sa.select(Appointment.start_at, Appointment.end_at).where(
                Appointment.practitioner_id == practitioner.id, Appointment.start_at >= weeks[1][0],
                Appointment.start_at < weeks[1][1]))), dt.timedelta())
        assert booked >= 0.4 * _weekly_opening(practitioner.id), practitioner.full_name
        # Busy, not full: a visitor still finds a slot next week.
        assert availability.available_slots(practitioner.id, settings.visit_reasons_of(practitioner.id)[0].id,
                                        weeks[1][0].date(), weeks[1][1].date() - dt.timedelta(days=1))
    for appointment in db.session.scalars(sa.select(Appointment).where(
            Appointment.start_at >= weeks[0][0], Appointment.start_at < weeks[1][1])):
        if appointment.start_at >= now:
            assert appointment.status is AppointmentStatus.BOOKED
        else:
            assert appointment.end_at <= now and appointment.status in DONE
    # Some visits of this week were missed; most were seen.
    statuses = list(db.session.scalars(sa.select(Appointment.status).where(
        Appointment.start_at >= weeks[0][0], Appointment.end_at <= now)))
    assert statuses.count(AppointmentStatus.COMPLETED) > 10 * statuses.count(AppointmentStatus.NO_SHOW) > 0


def test_demo_appointments_never_overlap_and_keep_to_the_opening_hours(app, frozen_clock):
    frozen_clock.set(dt.datetime(2026, 12, 8, 15, 40, tzinfo=PARIS).astimezone(dt.UTC))
    _seed(app)
    hours: dict[tuple[int, int], list[tuple[dt.time, dt.time]]] = {}
    for row in db.session.scalars(sa.select(WeeklyHours)):
        hours.setdefault((row.practitioner_id, row.weekday), []).append((row.start_time, row.end_time))
    absences = db.session.execute(sa.select(Absence.practitioner_id, Absence.start_at, Absence.end_at)).all()
    appointments = db.session.execute(
        sa.select(Appointment.practitioner_id, Appointment.start_at, Appointment.end_at)
        .where(Appointment.status != AppointmentStatus.CANCELLED)
        .order_by(Appointment.practitioner_id, Appointment.start_at)).all()
    assert len(appointments) > 2000
    for previous, current in itertools.pairwise(appointments):
        if previous.practitioner_id == current.practitioner_id:
            assert previous.end_at <= current.start_at, (previous, current)
    for practitioner_id, start_at, end_at in appointments:
        start, end = start_at.astimezone(PARIS), end_at.astimezone(PARIS)
        assert start.date() == end.date()
        assert any(opening <= start.time() and end.time() <= closing
                   for opening, closing in hours[(practitioner_id, start.weekday())]), (practitioner_id, start)
        assert not any(pid == practitioner_id and a_start < end_at and start_at < a_end
                       for pid, a_start, a_end in absences)


def test_every_patient_of_a_demo_practice_was_seen_before_and_comes_back(app, frozen_clock):
    now = frozen_clock.set(dt.datetime(2026, 12, 10, 8, 0, tzinfo=PARIS).astimezone(dt.UTC))
    _seed(app)
    roster = list(db.session.scalars(sa.select(PatientProfile).where(PatientProfile.desk_practitioner_id.is_not(None))))
    assert len(roster) == 20 * 12
    for patient in roster:
        visits = list(db.session.scalars(sa.select(Appointment).where(Appointment.patient_id == patient.id)))
        assert {visit.practitioner_id for visit in visits} == {patient.desk_practitioner_id}
        assert any(visit.status is AppointmentStatus.COMPLETED and visit.start_at < now - dt.timedelta(weeks=1)
                   for visit in visits)
        assert any(visit.status is AppointmentStatus.BOOKED for visit in visits)
        assert booking_visits.has_begun_visit(patient.desk_practitioner_id, patient.id)
