"""What the API adds to a booking (issue 23): `python -m bench.api_layer [--postgres-url URL]`.

Bookings through the service (B2's way: a user loaded, `book_appointment`,
one commit) and through `POST /api/v1/appointments` with a bearer token
alternate in blocks on one data set. For each it prints the median wall
and CPU time per booking, and the CPU spent outside `book_appointment` and
the commits: for the API, its own layer (request and answer, bearer token,
schemas, hooks); and the SQL statements and commits of one booking.

As in B2, each API booking uses a token for the first time, so each records
the token's last use (at most once a minute per token); `--reused-tokens`
cycles 50 tokens instead, the common case of a client making many calls.

CPU time is what to compare on a shared machine; wall time moves with the
neighbours' load. The PostgreSQL database is emptied first.
"""

import argparse
import contextlib
import functools
import statistics
import tempfile
import time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench import seed
from bench.__main__ import _empty_database, make_app
from webapp.accounts.models import User
from webapp.booking import appointments as booking_appointments
from webapp.db import now_utc
from webapp.extensions import db
from webapp.transaction import transaction

WARMUP = 20


@contextlib.contextmanager
def cpu_of_service_and_commits(spent: list[float]):
    """While open, `spent[0]` accumulates the CPU of `book_appointment` and of every commit."""
    def timed(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[0] += time.process_time() - started
        return wrapper

    book, commit = booking_appointments.book_appointment, Session.commit
    booking_appointments.book_appointment, Session.commit = timed(book), timed(commit)
    try:
        yield
    finally:
        booking_appointments.book_appointment, Session.commit = book, commit


def _sql_of_one(engine, operation) -> dict:
    counts = {"statements": 0, "commits": 0}

    def statement(*_):
        counts["statements"] += 1

    def commit(*_):
        counts["commits"] += 1

    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine, "commit", commit)
    try:
        operation()
    finally:
        sa.event.remove(engine, "before_cursor_execute", statement)
        sa.event.remove(engine, "commit", commit)
    return counts


def measure(database_url: str, *, runs: int, blocks: int, reused_tokens: bool) -> dict:
    bookings = runs * blocks + WARMUP + 1  # the last one counts the statements
    app = make_app(database_url)
    if not database_url.startswith("sqlite"):
        _empty_database(app)
    with app.app_context():
        world = seed.seed_booking_world(practitioners=2, patients=50 if reused_tokens else bookings)
        engine = db.engine
    starts = seed.bookable_starts(now_utc(), bookings)
    patients = list(zip(world.patients.user_ids, world.patients.profile_ids, strict=True))
    client = app.test_client()
    service_pid, api_pid = world.practitioner_ids
    queues = {"service": iter(enumerate(starts)), "api": iter(enumerate(starts))}

    def service():
        index, start = next(queues["service"])
        with app.app_context(), transaction():
            user = db.session.get(User, patients[index % len(patients)][0])
            booking_appointments.book_appointment(practitioner_id=service_pid, start_at=start, by=user,
                                                  visit_reason_id=world.reason_ids[service_pid])

    def api():
        index, start = next(queues["api"])
        token = world.patients.tokens[patients[index % len(patients)][1]]
        response = client.post("/api/v1/appointments", headers={"Authorization": f"Bearer {token}"},
                               json={"practitioner_id": api_pid, "visit_reason_id": world.reason_ids[api_pid],
                                     "start": start.astimezone(seed.PARIS).isoformat()})
        assert response.status_code == 201, response.get_data(as_text=True)  # nosec B101  # a benchmark's check

    operations = {"service": service, "api": api}
    for _ in range(WARMUP):
        service()
        api()
    figures = {name: {"wall": [], "cpu": [], "outside": []} for name in operations}
    spent = [0.0]
    with cpu_of_service_and_commits(spent):
        for _ in range(blocks):
            for name, operation in operations.items():
                for _ in range(runs):
                    spent[0] = 0.0
                    wall, cpu = time.perf_counter(), time.process_time()
                    operation()
                    cpu = time.process_time() - cpu
                    figures[name]["wall"].append(time.perf_counter() - wall)
                    figures[name]["cpu"].append(cpu)
                    figures[name]["outside"].append(cpu - spent[0])
    results = {name: {"wall_median_ms": round(statistics.median(values["wall"]) * 1000, 2),
                      "cpu_median_ms": round(statistics.median(values["cpu"]) * 1000, 2),
                      "cpu_outside_service_ms": round(statistics.median(values["outside"]) * 1000, 3),
                      **_sql_of_one(engine, operations[name])}
               for name, values in figures.items()}
    engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.api_layer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", help="a PostgreSQL database to use (emptied) instead of SQLite")
    parser.add_argument("--runs", type=int, default=100, help="bookings per block")
    parser.add_argument("--blocks", type=int, default=3, help="alternating blocks of each kind")
    parser.add_argument("--reused-tokens", action="store_true", help="50 tokens in turn, rather than a new one each")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carnet-bench-") as folder:
        url = args.postgres_url or f"sqlite:///{folder}/bench.sqlite3"
        results = measure(url, runs=args.runs, blocks=args.blocks, reused_tokens=args.reused_tokens)
    for name, values in results.items():
        print(f"{name:8} " + "  ".join(f"{key} {value}" for key, value in values.items()))
    layer = results["api"]["cpu_median_ms"] - results["service"]["cpu_median_ms"]
    print(f"API minus service, CPU median: {layer:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
