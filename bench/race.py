"""The peer protocol's double-booking race in Carnet: 8 forked processes, each with its own
database connection and its own patient, book one slot through the booking service at once
after a barrier; then one more sequential attempt on the same slot. On SQLite and PostgreSQL."""

import multiprocessing
import random
import time

import sqlalchemy as sa

from bench import seed
from bench.measure import Result
from bench.workloads import Size, check
from webapp.accounts.models import User
from webapp.booking import appointments
from webapp.booking.errors import SlotUnavailable
from webapp.booking.models import Appointment, AppointmentStatus
from webapp.db import now_utc
from webapp.extensions import db
from webapp.transaction import transaction

PROCESSES = 8
TRIALS = {"tiny": 1, "quick": 5, "full": 5}
WAIT_SECONDS = 300  # generous: the machine may be loaded


def _book(app, world: seed.BookingWorld, user_id: int, start) -> str:
    pid = world.practitioner_ids[0]
    try:
        with app.app_context(), transaction():
            appointments.book_appointment(practitioner_id=pid, visit_reason_id=world.reason_ids[pid], start_at=start,
                                     by=db.session.get(User, user_id))
    except SlotUnavailable:
        return "refused"
    return "booked"


def _contender(app, world, user_id, start, barrier, results) -> None:
    with app.app_context():
        db.engine.dispose(close=False)  # the parent's pooled connections are not this process's
    try:
        barrier.wait(timeout=WAIT_SECONDS)
        results.put((_book(app, world, user_id, start), ""))
    except Exception as error:  # noqa: BLE001  # every failure is reported, e.g. "database is locked"
        results.put(("error", f"{type(error).__name__}: {error}"[:200]))


def _appointments_at(app, practitioner_id: int, start) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
            Appointment.practitioner_id == practitioner_id, Appointment.start_at == start,
            Appointment.status == AppointmentStatus.BOOKED))


def race_workload(app, size: Size, rng: random.Random) -> list[Result]:
    """A few trials on distinct slots; each must end with exactly one appointment on its slot."""
    with app.app_context():
        database = db.engine.dialect.name
        world = seed.seed_booking_world(practitioners=1, patients=PROCESSES + 1, tag="race8")
        db.engine.dispose()  # no connection crosses the fork
    trials = TRIALS[size.name]
    context = multiprocessing.get_context("fork")
    rounds, durations = [], []
    for start in seed.bookable_starts(now_utc(), trials):
        barrier, results = context.Barrier(PROCESSES + 1), context.SimpleQueue()
        workers = [context.Process(target=_contender, args=(app, world, user_id, start, barrier, results))
                   for user_id in world.patients.user_ids[:PROCESSES]]
        for worker in workers:
            worker.start()
        barrier.wait(timeout=WAIT_SECONDS)  # the parent is the barrier's last party: it times the race
        started = time.perf_counter()
        outcomes = [results.get() for _ in workers]
        durations.append(time.perf_counter() - started)
        for worker in workers:
            worker.join(timeout=WAIT_SECONDS)
        on_slot = _appointments_at(app, world.practitioner_ids[0], start)
        sequential = _book(app, world, world.patients.user_ids[PROCESSES], start)
        rounds.append({"slot": start.isoformat(),
                       "succeeded": sum(1 for kind, _ in outcomes if kind == "booked"),
                       "refused": sum(1 for kind, _ in outcomes if kind == "refused"),
                       "errors": [message for kind, message in outcomes if kind == "error"],
                       "appointments_on_slot": on_slot,
                       "sequential_attempt": "accepted" if sequential == "booked" else "rejected",
                       "appointments_after_sequential": _appointments_at(app, world.practitioner_ids[0], start)})
    check(all(item["appointments_on_slot"] == 1 and item["appointments_after_sequential"] == 1 for item in rounds),
          f"race: a slot holds other than one appointment: {rounds}")
    return [Result(f"B2 race, {PROCESSES} processes on one slot", database, durations,
                   "exactly one booking per slot", {"processes": PROCESSES, "trials": trials, "rounds": rounds})]
