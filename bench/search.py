"""B3: search at scale (practitioners in every specialty and many cities, millions
of appointments), its query plans, and a gunicorn worker's memory while searching."""

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import requests
import sqlalchemy as sa

from bench import seed
from bench.concurrency import REQUEST_TIMEOUT, gunicorn, run_clients, worker_memory_mb
from bench.measure import Result, timed
from bench.workloads import Size, _database, check
from webapp.accounts.models import PractitionerProfile, Role, Verification
from webapp.accounts.specialties import SPECIALTIES
from webapp.booking import next_availability
from webapp.booking import search as booking_search
from webapp.booking.models import Appointment, AppointmentStatus, OccupiedCell
from webapp.booking.rules import CELL_MINUTES
from webapp.db import now_utc
from webapp.extensions import db

PER_PAGE = 20
# Share of each practitioner's next two weeks already taken: some quiet, some full.
FULLNESS = (0.2, 0.5, 0.8, 1.0)
APPOINTMENT_COLUMNS = ("id", "practitioner_id", "patient_id", "visit_reason_id", "start_at", "end_at", "status",
                       "created_at", "cancelled_at", "booked_at_desk", "rescheduled_count")


def city_name(rank: int) -> str:
    return f"Ville {rank:04d}"


@dataclass
class Directory:
    """What B3 seeded, enough to know the right answers."""

    specialty_of: dict[int, str]
    city_of: dict[int, str]
    taken: dict[int, set[dt.datetime]]  # practitioner id -> upcoming starts already booked
    appointments: int
    grid: list[dt.datetime] = field(default_factory=list)  # every start of the next month and a half

    def expected_next(self, practitioner_id: int, now: dt.datetime) -> dt.datetime:
        taken = self.taken[practitioner_id]
        return next(start for start in self.grid if start >= now and start not in taken)


def _copy_or_insert(model, columns: tuple[str, ...], rows) -> None:
    """COPY on PostgreSQL, executemany of Core inserts elsewhere (rows are tuples in `columns` order)."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    seed.insert_rows(model, [dict(zip(columns, row, strict=True)) for row in rows])


def seed_directory(*, practitioners: int, cities: int, appointments: int, patients: int, now: dt.datetime,
                   rng: random.Random) -> Directory:
    """Practitioners spread over every specialty and over cities of very unequal
    sizes (the n-th city weighs 1/n), all open Monday to Friday with one
    15-minute reason; `appointments` over the past 12 months and the next two
    weeks, each practitioner's next two weeks 20 % to 100 % taken."""
    specialties = sorted(SPECIALTIES)
    weights = [1 / (rank + 1) for rank in range(cities)]
    placed = [(specialties[n % len(specialties)], city_name(rng.choices(range(cities), weights)[0]))
              for n in range(practitioners)]
    user_ids = seed._users(Role.PRACTITIONER, "b3-practitioner", practitioners)
    profile_ids = seed.insert_returning_ids(PractitionerProfile, [
        {"user_id": user_id, "first_name": "Alex", "last_name": f"Annuaire{rng.randrange(10**6):06d}",
         "rpps": seed._rpps(next(seed._rpps_counter)), "specialty": specialty, "address": "1 place de la Mairie",
         "postcode": "01000", "city": city, "verification": Verification.VERIFIED}
        for user_id, (specialty, city) in zip(user_ids, placed, strict=True)
    ])
    reason_ids = seed.open_practices(profile_ids)
    patient_ids = seed.make_patients("b3-patient", patients).profile_ids
    today = now.astimezone(seed.PARIS).date()
    upcoming = [start for start in seed.grid(today, today + dt.timedelta(days=13)) if start >= now]
    past = [start for start in seed.grid(today - dt.timedelta(days=365), today) if start < now]
    per_practitioner = appointments // practitioners
    first_id = (db.session.scalar(sa.select(sa.func.max(Appointment.id))) or 0) + 1
    duration = dt.timedelta(minutes=seed.REASON_MINUTES)
    cell = dt.timedelta(minutes=CELL_MINUTES)
    taken: dict[int, set[dt.datetime]] = {}
    appointment_rows, cell_rows = [], []
    for pid in profile_ids:
        booked = rng.sample(upcoming, min(len(upcoming), round(rng.choice(FULLNESS) * len(upcoming)),
                                          per_practitioner))
        taken[pid] = set(booked)
        done = rng.sample(past, min(len(past), per_practitioner - len(booked)))
        for start in booked + done:
            status = (AppointmentStatus.BOOKED if start >= now else
                      AppointmentStatus.CANCELLED if rng.random() < 0.1 else AppointmentStatus.COMPLETED)
            appointment_id = first_id + len(appointment_rows)
            appointment_rows.append((appointment_id, pid, rng.choice(patient_ids), reason_ids[pid], start,
                                     start + duration, status.value, min(start, now) - dt.timedelta(days=3),
                                     now if status is AppointmentStatus.CANCELLED else None, False, 0))
            if status.occupies_time:
                cell_rows += [(pid, start + index * cell, appointment_id)
                              for index in range(seed.REASON_MINUTES // CELL_MINUTES)]
    _copy_or_insert(Appointment, APPOINTMENT_COLUMNS, appointment_rows)
    _copy_or_insert(OccupiedCell, ("practitioner_id", "cell_start_at", "appointment_id"), cell_rows)
    if db.session.connection().dialect.name == "postgresql":
        # Move the id sequence past the copied ids with nextval: a runtime role that
        # owns no table may use the sequence, not setval it (README "Production").
        sequence = db.session.scalar(sa.text("SELECT pg_get_serial_sequence('appointments', 'id')"))
        db.session.execute(sa.text(
            f"SELECT count(nextval('{sequence}')) FROM generate_series(1, "
            f"(SELECT coalesce(max(id), 0) FROM appointments) - (SELECT last_value FROM {sequence}) + 1)"))
        db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    # Bulk inserts bypass the session's bookkeeping: the job writes every
    # practitioner's stored next availability, as after a migration.
    began = time.perf_counter()
    computed = next_availability.refresh_stale(now)
    print(f"B3: stored next availability of {computed} practitioners computed in {time.perf_counter() - began:.1f} s")
    return Directory(dict(zip(profile_ids, (specialty for specialty, _ in placed), strict=True)),
                     dict(zip(profile_ids, (city for _, city in placed), strict=True)), taken, len(appointment_rows),
                     seed.grid(today, today + dt.timedelta(days=45)))


def _explain(app, statement: sa.Select) -> str:
    with app.app_context():
        compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
        rows = db.session.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars()
        return "\n".join(rows)


def search_workload(app, size: Size, rng: random.Random) -> list[Result]:
    """Specialty + city, page 1 with next availability; one specialty across every
    city, soonest available first; the plan of the search; a gunicorn worker's memory."""
    database = _database(app)
    with app.app_context():
        directory = seed_directory(practitioners=size.b3_practitioners, cities=size.b3_cities,
                                   appointments=size.b3_appointments, patients=size.b3_patients, now=now_utc(),
                                   rng=rng)
    specialties = sorted(SPECIALTIES)
    # The biggest cities, so that pages are full; every specialty in turn.
    big_cities = [city_name(rank) for rank in range(min(3, size.b3_cities))]
    client = app.test_client()
    answers = []  # (url, before, after, body), checked once the timing is over

    def search(urls):
        position = iter(range(10**9))

        def one():
            url = urls[next(position) % len(urls)]
            before = now_utc()
            response = client.get(url)
            answers.append((url, before, now_utc(), response.status_code, response.get_json()))
        return one

    by_city = [f"/api/v1/practitioners?specialty={specialties[n % len(specialties)]}"
               f"&city={big_cities[n % len(big_cities)]}&per_page={PER_PAGE}" for n in range(size.runs)]
    durations, _ = timed(search(by_city), runs=size.runs, warmup=size.warmup)
    items = _check_city_pages(directory, answers)
    results = [Result("B3 search specialty + city, HTTP", database, durations, "p95 ≤ 50 ms",
                      {"practitioners": size.b3_practitioners, "cities": size.b3_cities,
                       "specialties": len(specialties), "appointments": directory.appointments,
                       "mean_items": round(items / len(answers), 1)})]
    answers.clear()
    soonest = [f"/api/v1/practitioners?specialty={specialty}&sort=next_available&per_page={PER_PAGE}"
               for specialty in specialties]
    durations, _ = timed(search(soonest), runs=size.runs, warmup=size.warmup)
    _check_soonest_pages(directory, answers)
    results.append(Result("B3 specialty, all cities, soonest first, HTTP", database, durations, "p95 ≤ 100 ms",
                          {"per_specialty": size.b3_practitioners // len(specialties)}))
    if database == "postgresql":
        print("EXPLAIN ANALYZE of the specialty + city search (page 1):")
        print(_explain(app, booking_search.search_practitioners(specialty=specialties[0], city=big_cities[0])
                       .limit(PER_PAGE)))
        results.append(_gunicorn_search(app, size, soonest))
    return results


def _query_value(url: str, name: str) -> str | None:
    return parse_qs(urlsplit(url).query).get(name, [None])[0]


def _next_starts(directory: Directory, pid: int, before: dt.datetime, after: dt.datetime) -> set[dt.datetime]:
    # A slot may start while the request runs: the answer before or after it is right.
    return {directory.expected_next(pid, before), directory.expected_next(pid, after)}


def _check_city_pages(directory: Directory, answers) -> int:
    """Every page holds the right practitioners with their right next availability; the items seen."""
    seen = 0
    for url, before, after, status, body in answers:
        check(status == 200, f"B3: {url} answered {status}")
        specialty, city = _query_value(url, "specialty"), _query_value(url, "city")
        matching = {pid for pid, code in directory.specialty_of.items()
                    if code == specialty and directory.city_of[pid] == city}
        ids = [item["id"] for item in body["items"]]
        check(body["total"] == len(matching) and len(ids) == min(PER_PAGE, len(matching))
              and len(set(ids)) == len(ids) and set(ids) <= matching,
              f"B3: {specialty} in {city} gave {body['total']} practitioners, expected {len(matching)}")
        for item in body["items"]:
            check(dt.datetime.fromisoformat(item["next_available"]) in _next_starts(directory, item["id"],
                                                                                    before, after),
                  f"B3: wrong next availability for practitioner {item['id']}")
        seen += len(ids)
    return seen


def _check_soonest_pages(directory: Directory, answers) -> None:
    """Each page is sorted and starts with the specialty's soonest available start."""
    for url, before, after, status, body in answers:
        check(status == 200 and body["items"], f"B3: {url} answered {status}")
        specialty = _query_value(url, "specialty")
        starts = [dt.datetime.fromisoformat(item["next_available"]) for item in body["items"]]
        check(starts == sorted(starts), f"B3: the soonest-first page of {specialty} is not sorted")
        of_specialty = [pid for pid, code in directory.specialty_of.items() if code == specialty]
        earliest = {min(directory.expected_next(pid, moment) for pid in of_specialty) for moment in (before, after)}
        check(starts[0] in earliest, f"B3: the first practitioner of {specialty} is not the soonest available")
        for item in body["items"]:
            check(dt.datetime.fromisoformat(item["next_available"]) in _next_starts(directory, item["id"],
                                                                                    before, after),
                  f"B3: wrong next availability for practitioner {item['id']}")


def _gunicorn_search(app, size: Size, urls: list[str]) -> Result:
    """Soonest-first searches from concurrent clients under gunicorn: throughput and a worker's peak memory."""
    clients = size.concurrent_clients
    per_client = max(1, size.runs // 2)
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)
    with gunicorn(url, size.gunicorn_workers) as (base, master_pid):
        def search(index: int) -> list[float]:
            durations = []
            with requests.Session() as http:
                for n in range(per_client):
                    began = time.perf_counter()
                    response = http.get(base + urls[(index * per_client + n) % len(urls)], timeout=REQUEST_TIMEOUT)
                    durations.append(time.perf_counter() - began)
                    check(response.status_code == 200, f"B3 gunicorn: search answered {response.status_code}")
            return durations

        outcomes, elapsed = run_clients(clients, search)
        memory = worker_memory_mb(master_pid)
    result = Result("B3 soonest first, gunicorn", "postgresql", [took for client in outcomes for took in client],
                    "peak worker RSS ≤ 150 MB", {"clients": clients, "workers": size.gunicorn_workers,
                                                 "peak_worker_rss_mb": memory["peak_rss_mb"],
                                                 "worker_pss_mb": memory["pss_mb"], "worker_uss_mb": memory["uss_mb"]})
    result.throughput = len(result.durations) / elapsed
    return result
