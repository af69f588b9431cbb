"""The workloads: each seeds its data set, warms up, measures, and checks
that what it measured returned the right answer (a wrong answer raises)."""

import datetime as dt
import json
import random
import re
import statistics
import time
from dataclasses import dataclass

import sqlalchemy as sa

from bench import seed
from bench.measure import Result, count_statements, timed
from webapp.accounts.models import User
from webapp.booking import appointments as booking_appointments
from webapp.booking import availability
from webapp.booking.models import Appointment, AppointmentStatus, OccupiedCell
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notebook.overview import notebook_page
from webapp.transaction import transaction

CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


class WrongResult(AssertionError):
    """A workload returned something else than the data set implies."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise WrongResult(message)


@dataclass(frozen=True)
class Size:
    name: str
    runs: int
    warmup: int
    b1_appointments: int
    b1_patients: int
    b2_bookings: int
    b2_patients: int
    notebook_entries: int
    notebook_series: int
    export_runs: int
    concurrent_bookings: int
    concurrent_clients: int
    healthz_requests: int
    race_clients: int
    race_rounds: int
    gunicorn_workers: int
    b3_practitioners: int
    b3_cities: int
    b3_appointments: int
    b3_patients: int


SIZES = {
    "tiny": Size("tiny", runs=3, warmup=1, b1_appointments=200, b1_patients=20, b2_bookings=5, b2_patients=5,
                 notebook_entries=60, notebook_series=20, export_runs=1, concurrent_bookings=32,
                 concurrent_clients=4, healthz_requests=40, race_clients=6, race_rounds=2, gunicorn_workers=2,
                 b3_practitioners=150, b3_cities=4, b3_appointments=6_000, b3_patients=20),
    "quick": Size("quick", runs=50, warmup=5, b1_appointments=5_000, b1_patients=500, b2_bookings=200,
                  b2_patients=200, notebook_entries=5_000, notebook_series=2_000, export_runs=3,
                  concurrent_bookings=640, concurrent_clients=16, healthz_requests=2_000, race_clients=50,
                  race_rounds=20, gunicorn_workers=4, b3_practitioners=2_000, b3_cities=200,
                  b3_appointments=400_000, b3_patients=1_000),
    "full": Size("full", runs=200, warmup=20, b1_appointments=5_000, b1_patients=1_000, b2_bookings=500,
                 b2_patients=500, notebook_entries=5_000, notebook_series=2_000, export_runs=10,
                 concurrent_bookings=1_600, concurrent_clients=16, healthz_requests=10_000, race_clients=50,
                 race_rounds=20, gunicorn_workers=4, b3_practitioners=10_000, b3_cities=1_000,
                 b3_appointments=2_000_000, b3_patients=5_000),
}


def _database(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


# --- B1 slots ------------------------------------------------------------------------

def _first_open_day(after: dt.date) -> dt.date:
    """The first day after `after` with opening hours (the peer protocol's one-day slots)."""
    day = after + dt.timedelta(days=1)
    while not seed.grid(day, day):
        day += dt.timedelta(days=1)
    return day


def slots_workload(app, size: Size, rng: random.Random) -> list[Result]:
    """Free slots of one busy practitioner: 14 days through the service and over
    HTTP, 62 days over HTTP; one day (the first open day after today) through the
    service and over HTTP, as the peer protocol's W1/W3 one-day operations."""
    database = _database(app)
    with app.app_context():
        practice = seed.seed_slots_practice(appointments=size.b1_appointments, patients=size.b1_patients,
                                            now=now_utc(), rng=rng)
        engine = db.engine
    today = practice.now.astimezone(seed.PARIS).date()
    last_day = today + dt.timedelta(days=13)
    one_day = _first_open_day(today)

    def service(first: dt.date, last: dt.date):
        with app.app_context():
            return availability.available_slots(practice.practitioner_id, practice.reason_id, first, last,
                                           now=practice.now)

    durations, slots = timed(lambda: service(today, last_day), runs=size.runs, warmup=size.warmup)
    check(len(slots) == practice.free_next_14_days,
          f"B1: {len(slots)} free slots, expected {practice.free_next_14_days}")
    queries, _ = count_statements(engine, lambda: service(today, last_day))
    results = [Result("B1 slots 14 days, service", database, durations, "median ≤ 3 ms",
                      {"appointments": practice.appointments, "free_slots": len(slots), "queries": queries})]
    durations, day_slots = timed(lambda: service(one_day, one_day), runs=size.runs, warmup=size.warmup)
    check(day_slots == [slot for slot in slots if slot.start_at.astimezone(seed.PARIS).date() == one_day],
          "B1: the one-day slots differ from that day's in the 14 days")
    queries, _ = count_statements(engine, lambda: service(one_day, one_day))
    results.append(Result("B1 slots 1 day, service", database, durations, "",
                          {"free_slots": len(day_slots), "date": one_day.isoformat(), "queries": queries}))
    client = app.test_client()
    for days, first, last, target in (
            (14, today, last_day, "median ≤ 10 ms"),
            (62, today, today + dt.timedelta(days=61), "median ≤ 15 ms"),
            (1, one_day, one_day, "")):
        url = (f"/api/v1/practitioners/{practice.practitioner_id}/slots?visit_reason_id={practice.reason_id}"
               f"&from={first.isoformat()}&to={last.isoformat()}")
        durations, response = timed(lambda url=url: client.get(url), runs=size.runs, warmup=size.warmup)
        check(response.status_code == 200, f"B1: slots over HTTP answered {response.status_code}")
        items = response.get_json()["items"]
        check(len(items) > 0 and items == sorted(items, key=lambda item: item["start"]), "B1: no or unsorted slots")
        if days == 14:
            # The clock moved on since `practice.now`: at most the slots that started meanwhile are gone.
            check(0 <= len(slots) - len(items) <= 4, f"B1: {len(items)} slots over HTTP, {len(slots)} by the service")
        if days == 1:
            check(len(items) == len(day_slots), f"B1: {len(items)} slots over HTTP on {one_day}, {len(day_slots)} "
                                                "by the service")
        queries, _ = count_statements(engine, lambda url=url: client.get(url))
        name = "B1 slots 1 day, HTTP" if days == 1 else f"B1 slots {days} days, HTTP"
        results.append(Result(name, database, durations, target, {"free_slots": len(items), "queries": queries}))
    return results


# --- B2 booking ----------------------------------------------------------------------

def _booked_count(app, practitioner_id: int) -> tuple[int, int]:
    with app.app_context():
        appointments = db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
            Appointment.practitioner_id == practitioner_id, Appointment.status == AppointmentStatus.BOOKED))
        cells = db.session.scalar(sa.select(sa.func.count()).select_from(OccupiedCell).where(
            OccupiedCell.practitioner_id == practitioner_id))
    return appointments, cells


def booking_workload(app, size: Size, rng: random.Random) -> list[Result]:
    """Sequential bookings of distinct free slots, through the service then the API."""
    database = _database(app)
    with app.app_context():
        world = seed.seed_booking_world(practitioners=2, patients=size.b2_patients)
        engine = db.engine
    count = size.warmup + size.b2_bookings + 1  # the last one counts the SQL statements of a booking
    starts = seed.bookable_starts(now_utc(), count)
    patients = list(zip(world.patients.user_ids, world.patients.profile_ids, strict=True))
    results = []

    service_pid = world.practitioner_ids[0]
    queue = iter(enumerate(starts))

    def book_through_service():
        index, start = next(queue)
        with app.app_context(), transaction():
            user = db.session.get(User, patients[index % len(patients)][0])
            return booking_appointments.book_appointment(practitioner_id=service_pid,
                                                         visit_reason_id=world.reason_ids[service_pid],
                                            start_at=start, by=user)

    durations, _ = timed(book_through_service, runs=size.b2_bookings, warmup=size.warmup)
    queries, _ = count_statements(engine, book_through_service)
    booked, cells = _booked_count(app, service_pid)
    check(booked == count and cells == count * seed.REASON_MINUTES // 5,
          f"B2: {booked} appointments and {cells} cells after {count} service bookings")
    target = "median ≤ 5 ms" if database == "postgresql" else "median ≤ 3 ms"
    results.append(Result("B2 booking, service", database, durations, target, {"bookings": count, "queries": queries}))

    api_pid = world.practitioner_ids[1]
    client = app.test_client()
    queue = iter(enumerate(starts))

    def book_through_api():
        index, start = next(queue)
        token = world.patients.tokens[patients[index % len(patients)][1]]
        return client.post("/api/v1/appointments", headers={"Authorization": f"Bearer {token}"},
                           json={"practitioner_id": api_pid, "visit_reason_id": world.reason_ids[api_pid],
                                 "start": start.astimezone(seed.PARIS).isoformat()})

    statuses = []
    durations, _ = timed(lambda: statuses.append(book_through_api().status_code), runs=size.b2_bookings,
                         warmup=size.warmup)
    queries, _ = count_statements(engine, lambda: statuses.append(book_through_api().status_code))
    check(statuses == [201] * count, f"B2: API bookings answered {sorted(set(statuses))}")
    booked, _ = _booked_count(app, api_pid)
    check(booked == count, f"B2: {booked} appointments after {count} API bookings")
    results.append(Result("B2 booking, API", database, durations, "median ≤ 6 ms",
                          {"bookings": count, "queries": queries}))
    return results


# --- B4 notebook -----------------------------------------------------------------------

def _log_in(client, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_INPUT.search(page).group(1)
    response = client.post("/login", data={"email": email, "password": seed.PASSWORD, "csrf_token": token})
    check(response.status_code == 302, f"B4: logging in answered {response.status_code}")


def _timed_with_cost(app, operation, *, runs: int, warmup: int) -> tuple[list[float], object, dict]:
    """`timed`, plus what a loaded machine hardly moves: the median CPU time
    of the process per request and the SQL statements of one request."""
    cpu = []

    def measured():
        started = time.process_time()
        value = operation()
        cpu.append(time.process_time() - started)
        return value

    durations, value = timed(measured, runs=runs, warmup=warmup)
    statements = []

    def record(connection, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            operation()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
    return durations, value, {"cpu_median_ms": round(statistics.median(cpu[-runs:]) * 1000, 2),
                              "statements": len(statements)}


def notebook_workload(app, size: Size, rng: random.Random) -> list[Result]:
    """A long notebook: its first page with the summary, a measurement series, the FHIR export."""
    database = _database(app)
    with app.app_context():
        book = seed.seed_notebook(entries=size.notebook_entries, series_points=size.notebook_series,
                                  now=now_utc(), rng=rng)
        user = db.session.get(User, book.patient.user_ids[0])
        summary = notebook_page(user, book.patient.profile_ids[0]).summary
        check((len(summary.allergies), len(summary.treatments), len(summary.vaccinations))
              == (book.active_allergies, book.current_treatments, book.vaccines),
              "B4: the summary does not match the notebook")
        email = user.email
    patient_id = book.patient.profile_ids[0]
    bearer = {"Authorization": f"Bearer {book.patient.tokens[patient_id]}"}
    client = app.test_client()
    _log_in(client, email)
    results = []

    durations, response, cost = _timed_with_cost(app, lambda: client.get(f"/patients/{patient_id}/notebook"),
                                                 runs=size.runs, warmup=size.warmup)
    check(response.status_code == 200, f"B4: the notebook page answered {response.status_code}")
    results.append(Result("B4 notebook first page + summary, HTTP", database, durations, "p95 ≤ 30 ms",
                          {"entries": book.entries, **cost}))

    url = f"/api/v1/patients/{patient_id}/measurements?type={book.series_type}"
    durations, response, cost = _timed_with_cost(app, lambda: client.get(url, headers=bearer), runs=size.runs,
                                                 warmup=size.warmup)
    points = response.get_json()["items"]
    check(len(points) == book.series_points, f"B4: {len(points)} points, expected {book.series_points}")
    results.append(Result("B4 measurement series, HTTP", database, durations, "median ≤ 20 ms",
                          {"points": len(points), **cost}))

    url = f"/api/v1/patients/{patient_id}/notebook/export?format=fhir"
    durations, response = timed(lambda: client.get(url, headers=bearer), runs=size.export_runs, warmup=1)
    check(response.status_code == 200, f"B4: the export answered {response.status_code}")
    bundle = json.loads(response.get_data())
    check(bundle["resourceType"] == "Bundle" and len(bundle["entry"]) > book.entries,
          f"B4: the export holds {len(bundle.get('entry', []))} resources for {book.entries} entries")
    results.append(Result("B4 FHIR export, HTTP", database, durations, "median ≤ 2000 ms",
                          {"resources": len(bundle["entry"]), "bytes": len(response.get_data())}))
    return results


WORKLOADS = {"B1": slots_workload, "B2": booking_workload, "B4": notebook_workload}
