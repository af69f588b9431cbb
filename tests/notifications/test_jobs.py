"""The job registry and the scheduler: due times, one run per due time, where it runs."""

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.notifications.conftest import free_port
from tests.notifications.factories import outbox
from webapp.extensions import db
from webapp.jobs import INTERVAL_ORIGIN, JOBS, Job, active_jobs, cron, every
from webapp.notifications.models import Category, NotificationStatus
from webapp.notifications.services import enqueue_email
from webapp.scheduler import JobRun, build_scheduler, latest_fire_time, run_job
from webapp.transaction import transaction

ROOT = Path(__file__).resolve().parents[2]


class Recorder:
    def __init__(self, fail: bool = False):
        self.due_times = []
        self.fail = fail

    def __call__(self, now):
        self.due_times.append(now)
        if self.fail:
            enqueue_email(key="from-a-failing-job", to="x@example.com", template="notebook_entry",
                          category=Category.NOTEBOOK,
                          context={"practitioner_name": "Dr X", "notebook_url": "http://carnet.test/n"})
            raise RuntimeError("the job broke")


def test_registry_has_stable_unique_ids_and_the_outbox_job():
    ids = [job.id for job in JOBS]
    assert len(ids) == len(set(ids))
    assert "notifications.send_outbox" in ids


def test_scheduler_jobs_coalesce_and_never_overlap(app):
    scheduler = build_scheduler(app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job.id for job in active_jobs(app.config)}
    assert all(job.coalesce and job.max_instances == 1 for job in jobs.values())


def test_create_app_never_starts_a_scheduler():
    """As in a web worker: `wsgi:app` is built and no scheduler thread exists."""
    script = "import threading, wsgi; print(sorted(t.name for t in threading.enumerate()))"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                            env=os.environ | {"DATABASE_URL": "sqlite://"})
    assert result.stdout.strip() == "['MainThread']"


def test_due_time_of_an_interval_job_is_aligned_for_every_process():
    trigger = every(seconds=15)
    now = INTERVAL_ORIGIN + dt.timedelta(days=3, seconds=37)
    assert latest_fire_time(trigger, now) == INTERVAL_ORIGIN + dt.timedelta(days=3, seconds=30)
    assert latest_fire_time(trigger, INTERVAL_ORIGIN + dt.timedelta(seconds=45)) == \
        INTERVAL_ORIGIN + dt.timedelta(seconds=45)


def test_due_time_of_a_calendar_job_is_in_french_time():
    trigger = cron(day=1, hour=6)
    now = dt.datetime(2030, 3, 15, 12, 0, tzinfo=dt.UTC)
    assert latest_fire_time(trigger, now) == dt.datetime(2030, 3, 1, 5, 0, tzinfo=dt.UTC)  # 06:00 CET


def test_a_job_runs_once_per_due_time_even_if_two_schedulers_ask():
    recorder = Recorder()
    job = Job("tests.recorder", recorder, every(minutes=1))
    now = INTERVAL_ORIGIN + dt.timedelta(days=10, seconds=5)
    assert run_job(job, now) is True
    assert run_job(job, now + dt.timedelta(seconds=20)) is False  # the other scheduler, same due time
    assert run_job(job, now + dt.timedelta(minutes=1)) is True
    assert recorder.due_times == [INTERVAL_ORIGIN + dt.timedelta(days=10),
                                  INTERVAL_ORIGIN + dt.timedelta(days=10, minutes=1)]
    runs = db.session.scalars(sa.select(JobRun).order_by(JobRun.due_at)).all()
    assert [run.finished_at is not None and run.error is None for run in runs] == [True, True]


def test_a_failing_job_rolls_back_and_records_its_error():
    job = Job("tests.failing", Recorder(fail=True), every(minutes=1))
    with pytest.raises(RuntimeError):
        run_job(job, INTERVAL_ORIGIN + dt.timedelta(minutes=3))
    assert outbox() == []
    [run] = db.session.scalars(sa.select(JobRun)).all()
    assert run.error == "RuntimeError: the job broke" and run.finished_at is not None


@pytest.mark.postgres_only
def test_two_schedulers_at_the_same_moment_run_a_job_once(app):
    recorder = Recorder()
    job = Job("tests.concurrent", recorder, every(minutes=1))
    now = INTERVAL_ORIGIN + dt.timedelta(days=20, seconds=1)
    start = threading.Barrier(2)
    results = []

    def scheduler():
        with app.app_context():
            start.wait()
            results.append(run_job(job, now))
            db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True] and len(recorder.due_times) == 1


def test_scheduler_list_command(app):
    result = app.test_cli_runner().invoke(args=["scheduler", "list"])
    assert result.exit_code == 0 and "notifications.send_outbox" in result.output


def _serve(app, port: int, **env):
    environment = os.environ | {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                                "CARNET_MAIL_TRANSPORT": "console", "FLASK_APP": "wsgi"} | env
    return subprocess.Popen([sys.executable, "-m", "flask", "serve", "--port", str(port)], cwd=ROOT,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def _stop(process) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=10)
    return output


def test_serve_runs_the_scheduler_in_process(app):
    with transaction():
        enqueue_email(key="served", to="served@example.com", template="notebook_entry", category=Category.NOTEBOOK,
                      context={"practitioner_name": "Dr X", "notebook_url": "http://carnet.test/n"})
    process = _serve(app, free_port())
    try:
        sent = _wait_for(lambda: outbox()[0].status is NotificationStatus.SENT, 90)
    finally:
        output = _stop(process)
    assert sent, output
    assert "Scheduler started in-process." in output and "mail to served@example.com" in output


def test_serve_without_the_scheduler_when_it_is_off(app):
    import urllib.request

    port = free_port()
    process = _serve(app, port, CARNET_SCHEDULER="off")

    def healthy():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).status == 200
        except OSError:
            return False

    try:
        up = _wait_for(healthy, 90)  # a deadline, generous for a loaded machine
    finally:
        output = _stop(process)
    assert up, output
    assert "Scheduler started" not in output
