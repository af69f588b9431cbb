"""Bulk seeding of the benchmark data sets (Core inserts of lists of rows, never one ORM object at a time)."""

import datetime as dt
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from stdnum import luhn

from webapp.accounts.api_tokens import issue_api_token
from webapp.accounts.models import PatientProfile, PractitionerProfile, Role, User, Verification
from webapp.accounts.passwords import hash_password
from webapp.booking import slots as slot_rules
from webapp.booking.models import (
    Appointment,
    AppointmentStatus,
    OccupiedCell,
    PractitionerSchedule,
    VisitReason,
    WeeklyHours,
)
from webapp.booking.rules import CELL_MINUTES
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notebook.models import EntryKind, NotebookEntry

PASSWORD = "bench-password-42"  # nosec B105  # the benchmark's throwaway accounts
PARIS = ZoneInfo("Europe/Paris")
OPENING = {weekday: [(dt.time(9), dt.time(12)), (dt.time(14), dt.time(18))] for weekday in range(5)}
REASON_MINUTES = 15
_password_hash: str | None = None


def _hashed_password() -> str:
    global _password_hash  # argon2 is slow on purpose: hash once per process
    if _password_hash is None:
        _password_hash = hash_password(PASSWORD)
    return _password_hash


def insert_returning_ids(model, rows: list[dict]) -> list[int]:
    """Insert many rows in one statement; their ids, in the order of `rows`."""
    if not rows:
        return []
    statement = sa.insert(model).returning(model.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, rows))


def insert_rows(model, rows: list[dict], batch: int = 20_000) -> None:
    for start in range(0, len(rows), batch):
        db.session.execute(sa.insert(model), rows[start:start + batch])


@dataclass
class Accounts:
    user_ids: list[int]
    profile_ids: list[int]
    tokens: dict[int, str] = field(default_factory=dict)  # profile id -> raw bearer token


def _users(role: Role, tag: str, count: int) -> list[int]:
    now = now_utc()
    return insert_returning_ids(User, [
        {"email": f"{tag}{n}@bench.example", "password_hash": _hashed_password(), "role": role, "locale": "fr",
         "email_confirmed_at": now}
        for n in range(count)
    ])


def make_patients(tag: str, count: int) -> Accounts:
    user_ids = _users(Role.PATIENT, tag, count)
    profile_ids = insert_returning_ids(PatientProfile, [
        {"account_id": user_id, "first_name": "Camille", "last_name": f"Bench{n}", "birth_date": dt.date(1980, 1, 1),
         "email": f"{tag}{n}@bench.example"}
        for n, user_id in enumerate(user_ids)
    ])
    return Accounts(user_ids, profile_ids)


def _rpps(number: int) -> str:
    stem = f"88{number:08d}"
    return stem + luhn.calc_check_digit(stem)


_rpps_counter = iter(range(10**8))


def make_practitioners(tag: str, count: int, *, specialty: str = "general_practitioner",
                       city: str = "Lyon") -> Accounts:
    user_ids = _users(Role.PRACTITIONER, tag, count)
    profile_ids = insert_returning_ids(PractitionerProfile, [
        {"user_id": user_id, "first_name": "Alex", "last_name": f"Bench{n}", "rpps": _rpps(next(_rpps_counter)),
         "specialty": specialty, "address": "1 rue de la République", "postcode": "69001", "city": city,
         "verification": Verification.VERIFIED}
        for n, user_id in enumerate(user_ids)
    ])
    return Accounts(user_ids, profile_ids)


def open_practices(practitioner_ids: list[int]) -> dict[int, int]:
    """Monday to Friday 09:00-12:00 and 14:00-18:00, no notice, one 15-minute
    reason each; returns the reason id of each practitioner."""
    insert_rows(PractitionerSchedule, [
        {"practitioner_id": pid, "timezone": "Europe/Paris", "min_notice_minutes": 0, "horizon_days": 90,
         "buffer_minutes": 0, "cancellation_deadline_hours": 24, "closed_on_public_holidays": True}
        for pid in practitioner_ids
    ])
    insert_rows(WeeklyHours, [
        {"practitioner_id": pid, "weekday": weekday, "start_time": start, "end_time": end}
        for pid in practitioner_ids for weekday, ranges in OPENING.items() for start, end in ranges
    ])
    reason_ids = insert_returning_ids(VisitReason, [
        {"practitioner_id": pid, "label": "Consultation", "duration_minutes": REASON_MINUTES, "price_cents": 2650}
        for pid in practitioner_ids
    ])
    return dict(zip(practitioner_ids, reason_ids, strict=True))


def issue_tokens(accounts: Accounts) -> None:
    users = {user.id: user for user in db.session.scalars(sa.select(User).where(User.id.in_(accounts.user_ids)))}
    for user_id, profile_id in zip(accounts.user_ids, accounts.profile_ids, strict=True):
        accounts.tokens[profile_id] = issue_api_token(users[user_id])[0]


def grid(first_day: dt.date, last_day: dt.date) -> list[dt.datetime]:
    """Every 15-minute start of the opening hours between two local dates (UTC)."""
    starts = []
    day = first_day
    while day <= last_day:
        ranges = OPENING.get(day.weekday())
        if ranges and not slot_rules.is_public_holiday(day):
            starts += [slot.start_at for slot in slot_rules.grid_starts(day, ranges, REASON_MINUTES, None, PARIS)]
        day += dt.timedelta(days=1)
    return starts


def add_appointments(practitioner_id: int, reason_id: int, patient_ids: list[int], starts: list[dt.datetime],
                     now: dt.datetime, rng: random.Random, cancelled_share: float = 0.0) -> None:
    """Appointments with their occupied cells; past ones completed, a share cancelled."""
    rows, statuses = [], []
    for start in starts:
        if start >= now:
            status = AppointmentStatus.BOOKED
        else:
            status = AppointmentStatus.CANCELLED if rng.random() < cancelled_share else AppointmentStatus.COMPLETED
        statuses.append(status)
        rows.append({"practitioner_id": practitioner_id, "patient_id": rng.choice(patient_ids),
                     "visit_reason_id": reason_id, "start_at": start,
                     "end_at": start + dt.timedelta(minutes=REASON_MINUTES), "status": status,
                     "created_at": min(start, now) - dt.timedelta(days=3),
                     "cancelled_at": now if status is AppointmentStatus.CANCELLED else None})
    ids = insert_returning_ids(Appointment, rows)
    cell = dt.timedelta(minutes=CELL_MINUTES)
    insert_rows(OccupiedCell, [
        {"practitioner_id": practitioner_id, "cell_start_at": row["start_at"] + index * cell, "appointment_id": id_}
        for id_, row, status in zip(ids, rows, statuses, strict=True) if status.occupies_time
        for index in range(REASON_MINUTES // CELL_MINUTES)
    ])


@dataclass
class SlotsPractice:
    """B1: one busy practitioner."""

    practitioner_id: int
    reason_id: int
    now: dt.datetime
    free_next_14_days: int
    appointments: int


def seed_slots_practice(*, appointments: int, patients: int, now: dt.datetime, rng: random.Random) -> SlotsPractice:
    """5,000 appointments (full size) over the past 12 months and the next two
    weeks, half of the next two weeks' slots taken."""
    practice = make_practitioners("b1-practitioner", 1)
    pid = practice.profile_ids[0]
    reason_id = open_practices([pid])[pid]
    patient_ids = make_patients("b1-patient", patients).profile_ids
    today = now.astimezone(PARIS).date()
    upcoming = [start for start in grid(today, today + dt.timedelta(days=13)) if start >= now]
    past = [start for start in grid(today - dt.timedelta(days=365), today) if start < now]
    taken_upcoming = rng.sample(upcoming, len(upcoming) // 2)
    taken_past = rng.sample(past, min(len(past), max(0, appointments - len(taken_upcoming))))
    add_appointments(pid, reason_id, patient_ids, sorted(taken_past + taken_upcoming), now, rng, cancelled_share=0.1)
    db.session.commit()
    return SlotsPractice(pid, reason_id, now, len(upcoming) - len(taken_upcoming),
                         len(taken_past) + len(taken_upcoming))


@dataclass
class BookingWorld:
    """B2: practitioners with empty agendas and patients holding bearer tokens."""

    practitioner_ids: list[int]
    reason_ids: dict[int, int]
    patients: Accounts


def seed_booking_world(*, practitioners: int, patients: int, tag: str = "b2") -> BookingWorld:
    practice = make_practitioners(f"{tag}-practitioner", practitioners)
    reason_ids = open_practices(practice.profile_ids)
    people = make_patients(f"{tag}-patient", patients)
    issue_tokens(people)
    db.session.commit()
    return BookingWorld(practice.profile_ids, reason_ids, people)


def bookable_starts(now: dt.datetime, count: int) -> list[dt.datetime]:
    """The first `count` grid starts from tomorrow on (within the 90-day horizon)."""
    today = now.astimezone(PARIS).date()
    starts = grid(today + dt.timedelta(days=1), today + dt.timedelta(days=89))
    if len(starts) < count:
        raise ValueError(f"only {len(starts)} slots within the horizon, {count} wanted")
    return starts[:count]


@dataclass
class Notebook:
    """B4: one patient and their long notebook."""

    patient: Accounts
    entries: int
    series_type: str
    series_points: int
    active_allergies: int
    current_treatments: int
    vaccines: int


VACCINES = ["DTP", "Grippe saisonnière", "ROR", "Hépatite B", "COVID-19", "Pneumocoque"]
DOCUMENT_KINDS = [EntryKind.NOTE, EntryKind.REPORT, EntryKind.PRESCRIPTION, EntryKind.EXAM_RESULT,
                  EntryKind.DOCUMENT]


def _entry_content(kind: EntryKind, n: int, at: dt.datetime, rng: random.Random) -> tuple[str, dict | None]:
    day = at.date().isoformat()
    if kind is EntryKind.MEASUREMENT:
        return "Poids", {"type": "weight", "value": round(rng.uniform(60, 90), 1), "unit": "kg",
                         "measured_at": at.isoformat()}
    if kind is EntryKind.ALLERGY:
        return f"Allergie {n}", {"substance": f"Substance {n}", "reaction": "urticaire", "severity": "moderate",
                                 "status": "active" if n % 2 else "resolved"}
    if kind is EntryKind.TREATMENT:
        return f"Traitement {n}", {"drug": f"Médicament {n}", "dosage": "1 cp matin et soir", "start": day,
                                   "end": None if n % 3 == 0 else day}
    if kind is EntryKind.VACCINATION:
        return "Vaccination", {"vaccine": VACCINES[n % len(VACCINES)], "lot": f"L{n}", "date": day}
    return f"Compte rendu {n}", None


def seed_notebook(*, entries: int, series_points: int, now: dt.datetime, rng: random.Random) -> Notebook:
    """A patient with `entries` encrypted entries of every kind, `series_points`
    of them weight measurements, written over the ten years before the day before yesterday."""
    patient = make_patients("b4-patient", 1)
    issue_tokens(patient)
    user_id, patient_id = patient.user_ids[0], patient.profile_ids[0]
    others = entries - series_points
    structured = [EntryKind.ALLERGY, EntryKind.TREATMENT, EntryKind.VACCINATION]
    kinds = [EntryKind.MEASUREMENT] * series_points + [
        structured[n % 3] if n % 5 < 2 else DOCUMENT_KINDS[n % len(DOCUMENT_KINDS)] for n in range(others)]
    rng.shuffle(kinds)
    span = dt.timedelta(days=3650)
    rows, counters = [], {kind: 0 for kind in EntryKind}
    for index, kind in enumerate(kinds):
        at = now - dt.timedelta(days=2) - span + span * (index + 1) / (len(kinds) + 1)
        counters[kind] += 1
        title, data = _entry_content(kind, counters[kind], at, rng)
        rows.append({"patient_id": patient_id, "kind": kind, "author_user_id": user_id, "author_role": Role.PATIENT,
                     "content": NotebookEntry.seal(title, "Texte libre " * 20 if data is None else "", data),
                     "created_at": at})
    insert_rows(NotebookEntry, rows)
    db.session.commit()
    allergies = counters[EntryKind.ALLERGY]
    treatments = counters[EntryKind.TREATMENT]
    return Notebook(patient, entries, "weight", series_points, active_allergies=(allergies + 1) // 2,
                    current_treatments=treatments // 3,
                    vaccines=min(counters[EntryKind.VACCINATION], len(VACCINES)))
