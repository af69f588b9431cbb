"""B2 under the production server: gunicorn on PostgreSQL, concurrent clients,
a race on one slot, and the workers' peak resident memory."""

import contextlib
import os
import resource
import socket
import subprocess  # nosec B404  # starts gunicorn, the production command, with fixed arguments
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import sqlalchemy as sa

from bench import seed
from bench.measure import Result
from bench.workloads import Size, check
from webapp.booking.models import Appointment, AppointmentStatus
from webapp.db import now_utc
from webapp.extensions import db

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REQUEST_TIMEOUT = 120  # seconds; generous, the clients share the cores with the server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, workers: int, extra_env: dict[str, str] | None = None):
    """`gunicorn wsgi:app` on a loopback port (scheduler off, rate limits off
    so that the benchmark measures the application, unless `extra_env` says
    otherwise); yields (base URL, master pid)."""
    port = _free_port()
    env = os.environ | {"DATABASE_URL": database_url, "CARNET_SCHEDULER": "off", "CARNET_RATELIMIT_ENABLED": "0",
                        **(extra_env or {})}
    process = subprocess.Popen(  # nosec B603
        [sys.executable, "-m", "gunicorn", "wsgi:app", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning"], cwd=PROJECT_ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:
                pass  # still starting (slowly, on a loaded machine)
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _fields_kb(path: Path, names: tuple[str, ...]) -> dict[str, int]:
    """The named `Name:   123 kB` lines of a /proc file, in kB."""
    fields = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition(":")
        if name in names:
            fields[name] = int(value.split()[0])
    return fields


def worker_memory_mb(master_pid: int) -> dict[str, float]:
    """The memory of the master's worker with the highest peak resident set: that
    peak (VmHWM) and, at the moment of reading, its resident set, its proportional
    set (each shared page divided among the processes mapping it) and its unique
    set (the pages only it maps, what ending it would free). RSS counts the
    libraries and pages it shares with the master and the other workers in full."""
    figures = []
    for worker in _children(master_pid):
        status = _fields_kb(Path(f"/proc/{worker}/status"), ("VmHWM", "VmRSS"))
        rollup = _fields_kb(Path(f"/proc/{worker}/smaps_rollup"), ("Pss", "Private_Clean", "Private_Dirty"))
        figures.append({"peak_rss_mb": status["VmHWM"] / 1024, "rss_mb": status["VmRSS"] / 1024,
                        "pss_mb": rollup["Pss"] / 1024,
                        "uss_mb": (rollup["Private_Clean"] + rollup["Private_Dirty"]) / 1024})
    return {name: round(value, 1) for name, value in max(figures, key=lambda worker: worker["peak_rss_mb"]).items()}


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, 0 once it has ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_by_party(app, master_pid: int) -> dict[str, dict[int, float]]:
    """CPU seconds so far of gunicorn (master and workers), of the PostgreSQL
    backends serving the database, and of this process (the client threads)."""
    with app.app_context():
        backends = list(db.session.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")))
        db.session.rollback()
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"gunicorn": {pid: _cpu_seconds(pid) for pid in [master_pid, *_children(master_pid)]},
            "postgresql": {pid: _cpu_seconds(pid) for pid in backends},
            "clients": {os.getpid(): own.ru_utime + own.ru_stime}}


def cpu_ms_per_request(app, master_pid: int, run, requests_made) -> tuple[object, dict[str, float]]:
    """`run()`, and the CPU milliseconds each party spent per request meanwhile
    (`requests_made(result)` counts them): where a request's cost goes on the
    shared cores, which bounds the throughput whatever the load at the time."""
    before = _cpu_by_party(app, master_pid)
    result = run()
    after = _cpu_by_party(app, master_pid)
    count = requests_made(result)
    return result, {party: round(sum(seconds - before[party].get(pid, 0.0) for pid, seconds in after[party].items())
                                 * 1000 / count, 2) for party in after}


def run_clients(count: int, job) -> tuple[list, float]:
    """Run `job(client_index)` in `count` threads at once; results and elapsed seconds."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        outcomes = list(pool.map(job, range(count)))
    return outcomes, time.perf_counter() - started


def _booking_body(world, practitioner_id: int, start) -> dict:
    return {"practitioner_id": practitioner_id, "visit_reason_id": world.reason_ids[practitioner_id],
            "start": start.astimezone(seed.PARIS).isoformat()}


def concurrency_workload(app, database_url: str, size: Size) -> list[Result]:
    """16 clients booking distinct slots, /healthz as the ceiling, a 50-client race on one slot."""
    clients = size.concurrent_clients
    with app.app_context():
        world = seed.seed_booking_world(practitioners=clients + 1, patients=max(clients, size.race_clients),
                                        tag="b2-concurrent")
    per_client = size.concurrent_bookings // clients
    starts = seed.bookable_starts(now_utc(), max(per_client, size.race_rounds))
    tokens = [world.patients.tokens[pid] for pid in world.patients.profile_ids]

    with gunicorn(database_url, size.gunicorn_workers) as (base, master_pid):
        def book_distinct(index: int) -> list[tuple[int, float]]:
            # Each client books its own practitioner's slots, one after the other.
            practitioner_id = world.practitioner_ids[index]
            outcomes = []
            with requests.Session() as http:
                http.headers["Authorization"] = f"Bearer {tokens[index]}"
                for start in starts[:per_client]:
                    began = time.perf_counter()
                    response = http.post(f"{base}/api/v1/appointments",
                                         json=_booking_body(world, practitioner_id, start),
                                         timeout=REQUEST_TIMEOUT)
                    outcomes.append((response.status_code, time.perf_counter() - began))
            return outcomes

        (outcomes, elapsed), booking_cpu = cpu_ms_per_request(
            app, master_pid, lambda: run_clients(clients, book_distinct),
            lambda result: sum(len(client) for client in result[0]))
        flat = [outcome for client in outcomes for outcome in client]
        check([status for status, _ in flat] == [201] * len(flat),
              f"B2 concurrent: answers {sorted({status for status, _ in flat})}")
        bookings = Result("B2 concurrent bookings, gunicorn", "postgresql", [took for _, took in flat],
                          "≥ 50 % of /healthz", {"clients": clients, "workers": size.gunicorn_workers,
                                                 "cpu_ms_per_request": booking_cpu})
        bookings.throughput = len(flat) / elapsed

        per_health_client = size.healthz_requests // clients

        def health(index: int) -> list[float]:
            durations = []
            with requests.Session() as http:
                for _ in range(per_health_client):
                    began = time.perf_counter()
                    check(http.get(f"{base}/healthz", timeout=REQUEST_TIMEOUT).status_code == 200, "/healthz failed")
                    durations.append(time.perf_counter() - began)
            return durations

        (outcomes, elapsed), health_cpu = cpu_ms_per_request(
            app, master_pid, lambda: run_clients(clients, health),
            lambda result: sum(len(client) for client in result[0]))
        ceiling = Result("GET /healthz, gunicorn (ceiling)", "postgresql",
                         [took for client in outcomes for took in client], "bookings/s ≥ 50 % of this",
                         {"clients": clients, "workers": size.gunicorn_workers, "cpu_ms_per_request": health_cpu})
        ceiling.throughput = per_health_client * clients / elapsed
        bookings.extra["share_of_healthz"] = round(bookings.throughput / ceiling.throughput, 3)

        race_pid = world.practitioner_ids[clients]
        rounds = []
        for start in starts[:size.race_rounds]:
            barrier = threading.Barrier(size.race_clients)

            def contender(index: int, start=start, barrier=barrier) -> int:
                body = _booking_body(world, race_pid, start)
                headers = {"Authorization": f"Bearer {tokens[index]}"}
                barrier.wait()
                return requests.post(f"{base}/api/v1/appointments", json=body, headers=headers,
                                     timeout=REQUEST_TIMEOUT).status_code

            statuses, took = run_clients(size.race_clients, contender)
            check(sorted(statuses) == [201] + [409] * (size.race_clients - 1),
                  f"B2 race: answers {sorted(statuses)}")
            rounds.append(took)
        with app.app_context():
            per_slot = db.session.execute(
                sa.select(Appointment.start_at, sa.func.count()).where(
                    Appointment.practitioner_id == race_pid, Appointment.status == AppointmentStatus.BOOKED)
                .group_by(Appointment.start_at)).all()
        check(len(per_slot) == size.race_rounds and all(count == 1 for _, count in per_slot),
              "B2 race: a slot holds more or fewer than one appointment")
        race = Result(f"B2 race, {size.race_clients} clients on one slot", "postgresql", rounds,
                      "exactly one 201, the rest 409", {"rounds": size.race_rounds, "all_correct": True})
        memory = worker_memory_mb(master_pid)
    bookings.extra |= {"peak_worker_rss_mb": memory["peak_rss_mb"], "worker_pss_mb": memory["pss_mb"],
                       "worker_uss_mb": memory["uss_mb"]}
    return [bookings, ceiling, race]
