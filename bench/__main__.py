"""`python -m bench`: seed, warm up, measure, check, print a table and one JSON line."""

import argparse
import datetime as dt
import json
import os
import platform
import random
import sqlite3
import subprocess  # nosec B404  # reads the git commit
import sys
import tempfile
import time
from importlib import metadata

import flask_migrate
import sqlalchemy as sa

from bench.concurrency import PROJECT_ROOT, concurrency_workload
from bench.measure import Result
from bench.outbox import outbox_workload
from bench.peer.compare import compare, comparison_lines, peer_section
from bench.peer.runner import ensure_peer_venv, run_peer
from bench.race import race_workload
from bench.regional import regional_workload
from bench.search import search_workload
from bench.workloads import SIZES, WORKLOADS
from webapp import create_app, freeze_startup_heap, tune_collector
from webapp.extensions import db


def make_app(database_url: str):
    """The application on a fresh database built by the migrations; rate limits
    off so that the benchmark measures the work, not the refusals."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False,
                      "CARNET_SCHEDULER": "off"})
    with app.app_context():
        flask_migrate.upgrade()
    freeze_startup_heap()  # as wsgi.py does in production
    tune_collector(app)
    return app


ALL_WORKLOADS = WORKLOADS | {"B3": search_workload, "B5": outbox_workload, "B6": regional_workload}


def _empty_database(app) -> None:
    """The schema again from the migrations, with no rows (PostgreSQL: with its functions and triggers)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("DROP SCHEMA public CASCADE"))
            db.session.execute(sa.text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            db.session.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        flask_migrate.upgrade()


def run_database(database_url: str, size, *, only: set[str] | None = None,
                 seed_value: int = 12) -> tuple[list[Result], str]:
    """Every workload (or those whose code is in `only`) on one database."""
    app = make_app(database_url)
    rng = random.Random(seed_value)  # nosec B311  # reproducible data sets, nothing secret
    results = []
    for code, workload in ALL_WORKLOADS.items():
        if only is None or code in only:
            _empty_database(app)  # each workload checks its answers against its own data set only
            results += workload(app, size, rng)
    with app.app_context():
        dialect = db.engine.dialect.name
        server = (db.session.scalar(sa.text("SHOW server_version")) if dialect == "postgresql"
                  else sqlite3.sqlite_version)
    if only is None or "B2" in only:
        results += race_workload(app, size, rng)  # the peer protocol's race, 8 processes
    if dialect == "postgresql" and (only is None or "B2" in only):
        results += concurrency_workload(app, database_url, size)
    with app.app_context():
        db.engine.dispose()
    return results, f"{dialect} {server}"


def _git_commit() -> str:
    completed = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,  # nosec B603 B607
                               capture_output=True, text=True, check=False)
    return completed.stdout.strip()


def _number(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(results: list[Result]) -> None:
    header = f"{'workload':44} {'database':10} {'n':>5} {'median ms':>10} {'p95 ms':>9} {'per s':>9}  target"
    print(header)
    print("-" * len(header))
    for result in results:
        print(f"{result.name:44} {result.database:10} {len(result.durations):>5} {_number(result.median_ms):>10} "
              f"{_number(result.p95_ms):>9} {_number(result.ops_per_second, 1):>9}  {result.target}")
        notes = {key: value for key, value in result.extra.items()}
        if notes:
            print(f"{'':44} {json.dumps(notes, ensure_ascii=False)}")


def _workload_codes(text: str) -> set[str]:
    codes = {code.strip().upper() for code in text.split(",") if code.strip()}
    if not codes or codes - set(ALL_WORKLOADS):
        raise argparse.ArgumentTypeError(f"choose among {', '.join(sorted(ALL_WORKLOADS))}")
    return codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--quick", action="store_const", const="quick", dest="size", help="same as --size quick")
    parser.add_argument("--postgres-url", default=os.environ.get("PG_URL"),
                        help="an empty PostgreSQL database (bench/run starts a throwaway one)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--only", type=_workload_codes, help="comma-separated workloads to run, e.g. B1,B3")
    parser.add_argument("--seed", type=int, default=42, help="of the data sets (the peer protocol's: 42)")
    parser.add_argument("--peer", action="store_true",
                        help="also run django-appointment (bench/peer/) on each database and print the ratios")
    args = parser.parse_args(argv)
    size = SIZES[args.size]
    started = time.perf_counter()
    peer_python = ensure_peer_venv() if args.peer else None
    results, databases, peers = [], [], {}
    with tempfile.TemporaryDirectory(prefix="carnet-bench-") as folder:
        urls = ([] if args.no_sqlite else [f"sqlite:///{folder}/bench.sqlite3"])
        urls += [args.postgres_url] if args.postgres_url else []
        for url in urls:
            database_results, version = run_database(url, size, only=args.only, seed_value=args.seed)
            print_table(database_results)  # each database's figures as soon as they exist
            results += database_results
            databases.append(version)
            if peer_python:
                peer = run_peer(url, size, seed=args.seed, python=peer_python)
                peers[peer["database"]] = peer
                print(f"peer on {peer['database']} {peer['server']}: {peer['seconds']} s")
    summary = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "size": size.name,
        "data_sets": {"b1_appointments": size.b1_appointments, "b2_bookings": size.b2_bookings,
                      "b2_concurrent_bookings": size.concurrent_bookings, "notebook_entries": size.notebook_entries,
                      "notebook_series_points": size.notebook_series,
                      "b3_practitioners": size.b3_practitioners, "b3_appointments": size.b3_appointments},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": {"carnet": _git_commit(), "python": platform.python_version(), "databases": databases,
                     **{name: metadata.version(name) for name in ("flask", "sqlalchemy", "psycopg", "gunicorn")}},
        "seconds": round(time.perf_counter() - started, 1),
        "workloads": [result.as_dict() for result in results],
    }
    if peer_python:
        comparison = compare(summary["workloads"], peers)
        print("\n".join(comparison_lines(comparison)))
        summary["peer"] = peer_section(peers, comparison)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
