"""Demo agendas as a practice lives them: busy this week and next.

`flask seed-demo` calls this once the demo practitioners have opened their
practice. Relative to the seed's "today", each demo practitioner gets a
roster of patients created at their desk, each seen once a few weeks ago,
and half to four fifths of this week's and next week's hours booked: past
visits of this week completed (a few no-shows), the rest booked. Every
appointment is one of the practitioner's free slots (opening hours,
absences, public holidays, buffer), and none overlaps another: the
occupied cells are written as for any booking.
"""

import datetime as dt
import random
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from webapp.accounts.models import PatientProfile, PractitionerProfile
from webapp.booking import appointments, settings
from webapp.booking import availability as booking_availability
from webapp.booking.models import Appointment, AppointmentStatus, OccupiedCell, VisitReason
from webapp.booking.rules import DEFAULT_TIMEZONE
from webapp.booking.slots import Slot
from webapp.db import now_utc
from webapp.extensions import db

# The chance that a free start is booked: busy (half to four fifths of the hours), with room left to book.
FILL_RATIO = 0.8
NO_SHOW_RATIO = 0.06
PATIENTS_PER_PRACTICE = 12
# The roster's first visits: in the working days of this window before the week starts.
FIRST_VISITS_WEEKS_BACK = (6, 2)
SEED = 2026  # the same demo on every machine

FIRST_NAMES = ["Léa", "Hugo", "Chloé", "Louis", "Emma", "Gabriel", "Jade", "Raphaël", "Louise", "Arthur", "Alice",
               "Jules", "Lina", "Adam", "Rose", "Maël", "Anna", "Noah", "Mila", "Sacha", "Inès", "Tom", "Zoé", "Nathan"]
LAST_NAMES = ["Lemaire", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin",
              "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin",
              "Masson", "Sanchez", "Boyer", "Denis", "Lefèvre"]
CHILD_SPECIALTIES = {"pediatrician"}


def _roster(practitioner: PractitionerProfile, index: int, rng: random.Random, today: dt.date) -> list[PatientProfile]:
    """Patients created at this practice's desk (no account: the demo's own patients have one)."""
    youngest, oldest = (1, 16) if practitioner.specialty in CHILD_SPECIALTIES else (18, 88)
    patients = []
    for number in range(PATIENTS_PER_PRACTICE):
        age_days = rng.randint(youngest * 365, oldest * 365)
        patients.append(PatientProfile(
            first_name=FIRST_NAMES[(index * 5 + number) % len(FIRST_NAMES)],
            last_name=LAST_NAMES[(index * 7 + number * 3) % len(LAST_NAMES)],
            birth_date=today - dt.timedelta(days=age_days), desk_practitioner_id=practitioner.id,
        ))
    db.session.add_all(patients)
    return patients


def _candidates(practitioner_id: int, reasons: list[VisitReason], first_day: dt.date, last_day: dt.date,
                tz: ZoneInfo) -> dict[dt.datetime, list[tuple[VisitReason, Slot]]]:
    """Every free slot of the days, whatever the clock says (the days already
    gone count too), by start: the reasons that fit there."""
    availability = booking_availability.load_availability([practitioner_id], first_day, last_day)[practitioner_id]
    day_start = dt.datetime.combine(first_day, dt.time(), tz)
    starts: dict[dt.datetime, list[tuple[VisitReason, Slot]]] = {}
    for reason in reasons:
        for slot in availability.free_slots(first_day, last_day, reason.duration_minutes, day_start):
            starts.setdefault(slot.start_at, []).append((reason, slot))
    return dict(sorted(starts.items()))


def _pick(candidates, rng: random.Random, ratio: float, buffer: dt.timedelta,
          reasons: list[VisitReason]) -> list[tuple[VisitReason, Slot]]:
    """Slots taken one after the other, never overlapping (buffer kept), about
    `ratio` of them; a start left free where every reason fits stays free for
    the longest one, so that visitors still find slots of every reason."""
    picked, free_from = [], None
    longest = dt.timedelta(minutes=max(reason.duration_minutes for reason in reasons))
    for start, fitting in candidates.items():
        if free_from is not None and start < free_from:
            continue
        if rng.random() >= ratio:
            if len(fitting) == len(reasons):
                free_from = start + longest + buffer
            continue
        # The first reason (the usual consultation) most often.
        reason, slot = fitting[0] if len(fitting) == 1 or rng.random() < 0.75 else rng.choice(fitting[1:])
        picked.append((reason, slot))
        free_from = slot.end_at + buffer
    return picked


def _row(practitioner: PractitionerProfile, patient: PatientProfile, reason: VisitReason, slot: Slot,
         status: AppointmentStatus) -> dict:
    done = status is not AppointmentStatus.BOOKED
    return {
        "practitioner_id": practitioner.id, "patient_id": patient.id, "visit_reason_id": reason.id,
        "start_at": slot.start_at, "end_at": slot.end_at, "status": status,
        "booked_by_user_id": practitioner.user_id, "booked_at_desk": True,
        "created_at": slot.start_at - dt.timedelta(days=10) if done else now_utc(),
        "arrived_at": slot.start_at if status is AppointmentStatus.COMPLETED else None,
        "status_changed_at": slot.end_at if done else None,
    }


def _insert(rows: list[dict]) -> None:
    """Appointments and their occupied cells in two statements (thousands of
    rows: plain table inserts, without the ORM's per-object work)."""
    if not rows:
        return
    connection = db.session.connection()
    table = Appointment.__table__
    ids = connection.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
    cells = [{"practitioner_id": cell.practitioner_id, "cell_start_at": cell.cell_start_at, "appointment_id": id_}
             for id_, row in zip(ids, rows, strict=True)
             for cell in appointments.occupied_cells_for(row["practitioner_id"], row["start_at"], row["end_at"])]
    connection.execute(OccupiedCell.__table__.insert(), cells)


def fill_demo_agendas() -> None:
    """Book this week and next in every demo agenda, and see each roster patient once before."""
    now = now_utc()
    tz = ZoneInfo(DEFAULT_TIMEZONE)
    today = now.astimezone(tz).date()
    monday = today - dt.timedelta(days=today.weekday())
    rng = random.Random(SEED)  # nosec B311  # a reproducible demo agenda, no secret drawn from it
    practitioners = list(db.session.scalars(sa.select(PractitionerProfile).where(
        PractitionerProfile.id.in_(sa.select(VisitReason.practitioner_id))).order_by(PractitionerProfile.id)))
    schedules = settings.schedules_of([practitioner.id for practitioner in practitioners])
    rows = []
    for index, practitioner in enumerate(practitioners):
        reasons = settings.visit_reasons_of(practitioner.id)
        roster = _roster(practitioner, index, rng, today)
        db.session.flush()
        buffer = dt.timedelta(minutes=schedules[practitioner.id].buffer_minutes)
        # Each roster patient was seen once, a few weeks ago: their notebook is open to the practice.
        first_day, last_day = (monday - dt.timedelta(weeks=weeks) for weeks in FIRST_VISITS_WEEKS_BACK)
        earlier = _pick(_candidates(practitioner.id, reasons[:1], first_day, last_day, tz), rng, 0.2, buffer,
                        reasons[:1])
        for patient, (reason, slot) in zip(roster, rng.sample(earlier, len(roster)), strict=True):
            rows.append(_row(practitioner, patient, reason, slot, AppointmentStatus.COMPLETED))
        upcoming = 0
        for reason, slot in _pick(_candidates(practitioner.id, reasons, monday, monday + dt.timedelta(days=13), tz),
                                  rng, FILL_RATIO, buffer, reasons):
            if slot.start_at < now < slot.end_at:
                continue  # the visit going on now: neither done nor to come
            if slot.start_at >= now:
                # The roster in turn first, so that every patient has a visit to come.
                patient = roster[upcoming % len(roster)] if upcoming < len(roster) else rng.choice(roster)
                upcoming += 1
                rows.append(_row(practitioner, patient, reason, slot, AppointmentStatus.BOOKED))
            else:
                status = AppointmentStatus.NO_SHOW if rng.random() < NO_SHOW_RATIO else AppointmentStatus.COMPLETED
                rows.append(_row(practitioner, rng.choice(roster), reason, slot, status))
    _insert(rows)
