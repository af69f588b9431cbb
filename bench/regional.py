"""B6: the regional scheduling query of the Service d'Accès aux Soins: the free
slots of 25 practitioners named by RPPS over 7 days, in one FHIR request, on
B3's directory (10,000 practitioners, 2,000,000 appointments at full size)."""

import datetime as dt
import json
import random
import statistics
import time

import sqlalchemy as sa

from bench import seed
from bench.measure import Result, count_statements, timed
from bench.search import Directory, seed_directory
from bench.workloads import Size, _database, check
from webapp.accounts.models import PractitionerProfile
from webapp.booking.regional_slots import MAX_PRACTITIONERS
from webapp.db import now_utc
from webapp.dmp.ins import IDNAT_PS_SYSTEM
from webapp.extensions import db

DAYS = 7
TARGET = "p95 ≤ 50 ms, constant queries"


def slot_url(rpps: list[str], first_day: dt.date, days: int = DAYS) -> str:
    identifiers = ",".join(f"{IDNAT_PS_SYSTEM}|8{number}" for number in rpps)
    return (f"/fhir/r4/Slot?schedule.actor:Practitioner.identifier={identifiers}"
            f"&start=ge{first_day.isoformat()}&start=lt{(first_day + dt.timedelta(days=days)).isoformat()}"
            "&status=free")


def _expected(directory: Directory, group: list[int], now: dt.datetime, end: dt.datetime) -> set:
    """(practitioner, start) of every free slot: the grid from `now` on, before `end`, minus what is booked."""
    return {(pid, start) for pid in group for start in directory.grid
            if now <= start < end and start not in directory.taken[pid]}


def _answered(body: dict) -> set:
    return {(int(entry["resource"]["schedule"]["reference"].rpartition("/")[2]),
             dt.datetime.fromisoformat(entry["resource"]["start"]).astimezone(dt.UTC))
            for entry in body["entry"]}


def regional_workload(app, size: Size, rng: random.Random) -> list[Result]:
    """The Slot search for 25 random practitioners × 7 days over HTTP, each answer
    checked against the seeded agendas; the statements one request costs."""
    database = _database(app)
    with app.app_context():
        now = now_utc()
        directory = seed_directory(practitioners=size.b3_practitioners, cities=size.b3_cities,
                                   appointments=size.b3_appointments, patients=size.b3_patients, now=now, rng=rng)
        rpps_of = dict(db.session.execute(sa.select(PractitionerProfile.id, PractitionerProfile.rpps)).all())
        engine = db.engine
    ids = sorted(directory.specialty_of)
    today = now.astimezone(seed.PARIS).date()
    end = dt.datetime.combine(today + dt.timedelta(days=DAYS), dt.time(), seed.PARIS)
    groups = [rng.sample(ids, MAX_PRACTITIONERS) for _ in range(size.runs + size.warmup)]
    urls = [slot_url([rpps_of[pid] for pid in group], today) for group in groups]
    client = app.test_client()
    answers = []  # (group, before, after, status, body), checked once the timing is over
    cpu = []  # this process's CPU time per request: what a busy machine's wall clock hides
    position = iter(range(10**9))

    def one():
        index = next(position)
        before, started = now_utc(), time.process_time()
        response = client.get(urls[index % len(urls)])
        cpu.append(time.process_time() - started)
        answers.append((groups[index % len(groups)], before, now_utc(), response.status_code, response.data))

    durations, _ = timed(one, runs=size.runs, warmup=size.warmup)
    slots = sizes = 0
    for group, before, after, status, data in answers:
        check(status == 200, f"B6: the Slot search answered {status}")
        found = _answered(json.loads(data))
        # A slot may start while the request runs: the answer before or after it is right.
        check(found in (_expected(directory, group, before, end), _expected(directory, group, after, end)),
              f"B6: wrong free slots for practitioners {group[:3]}…")
        slots, sizes = slots + len(found), sizes + len(data)
    statements, _ = count_statements(engine, lambda: client.get(urls[0]))
    few, _ = count_statements(engine, lambda: client.get(slot_url([rpps_of[groups[0][0]]], today)))
    check(statements == few, f"B6: {statements} statements for 25 practitioners, {few} for one")
    return [Result(f"B6 regional Slot search, {MAX_PRACTITIONERS} × {DAYS} days, HTTP", database, durations,
                   TARGET, {"practitioners": size.b3_practitioners, "appointments": directory.appointments,
                            "mean_slots": round(slots / len(answers)),
                            "mean_kb": round(sizes / len(answers) / 1024), "queries": statements,
                            "cpu_median_ms": round(statistics.median(cpu[size.warmup:]) * 1000, 2)})]
