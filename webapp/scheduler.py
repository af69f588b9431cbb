"""Runs the jobs of `webapp.jobs`: alone with `flask scheduler run` (production),
or in-process next to the web server with `flask serve` (`webapp.serve`).

`create_app()` never starts a scheduler, so web workers never run jobs. If two
schedulers run by mistake, each run first records (job id, due time) in
`job_runs`, whose primary key lets only one of them run it.
"""

import datetime as dt
import logging

import click
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import now_utc
from webapp.extensions import db
from webapp.jobs import JOBS, Job, active_jobs
from webapp.transaction import transaction

log = logging.getLogger(__name__)

RUN_HISTORY = dt.timedelta(days=7)


class JobRun(db.Model):
    """One run of a job for one due time; the key makes a second run a no-op."""

    __tablename__ = "job_runs"

    job_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    due_at: Mapped[dt.datetime] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(sa.String(1000))


def latest_fire_time(trigger: BaseTrigger, now: dt.datetime) -> dt.datetime | None:
    """The last time `trigger` fired at or before `now`: the due time of the run
    starting now (APScheduler does not tell the job which time it runs for)."""
    lookback = dt.timedelta(seconds=1)
    while True:
        fire = trigger.get_next_fire_time(None, now - lookback)
        if fire is not None and fire <= now:
            break
        if lookback > dt.timedelta(days=400):
            return None
        lookback *= 2
    while (following := trigger.get_next_fire_time(fire, fire + dt.timedelta(microseconds=1))) and following <= now:
        fire = following
    return fire.astimezone(dt.UTC)


def _claim_run(job: Job, due_at: dt.datetime) -> bool:
    try:
        with transaction():
            db.session.execute(sa.delete(JobRun).where(JobRun.job_id == job.id, JobRun.due_at < due_at - RUN_HISTORY))
            db.session.add(JobRun(job_id=job.id, due_at=due_at, started_at=now_utc()))
            db.session.flush()
    except sa.exc.IntegrityError:
        return False
    return True


def run_job(job: Job, now: dt.datetime | None = None) -> bool:
    """Run `job` for its due time at `now` unless that run is already taken.

    Needs an app context. Returns whether this call ran it; a failure is
    recorded on the run, then raised (the next due time runs as usual)."""
    due_at = latest_fire_time(job.trigger, now or now_utc())
    if due_at is None or not _claim_run(job, due_at):
        return False
    error = None
    try:
        if job.transactional:
            with transaction():
                job.func(due_at)
        else:
            job.func(due_at)
    except Exception as exc:
        db.session.rollback()
        error = f"{type(exc).__name__}: {exc}"[:1000]
        raise
    finally:
        with transaction():
            db.session.execute(sa.update(JobRun).where(JobRun.job_id == job.id, JobRun.due_at == due_at)
                               .values(finished_at=now_utc(), error=error))
    return True


def _run_in_app_context(app: Flask, job_id: str) -> None:
    job = next(job for job in JOBS if job.id == job_id)
    with app.app_context():
        run_job(job)


def build_scheduler(app: Flask, scheduler_class=BackgroundScheduler):
    """A scheduler holding every job of the registry (not started)."""
    scheduler = scheduler_class(timezone=dt.UTC)
    for job in active_jobs(app.config):
        # A late run still happens (once: coalesced), and never two at a time.
        scheduler.add_job(_run_in_app_context, job.trigger, args=[app, job.id], id=job.id, name=job.id,
                          coalesce=True, max_instances=1, misfire_grace_time=None)
    return scheduler


def log_to_console() -> None:
    """Show the app's own INFO messages (the console mail transport writes there),
    not the scheduler's line for every run."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


scheduler_cli = AppGroup("scheduler", help="Scheduled jobs (outbox, reminders, billing...).")


@scheduler_cli.command("run")
@with_appcontext
def run_scheduler_command() -> None:
    """Run the scheduler alone in the foreground (production: one such process)."""
    log_to_console()
    jobs = active_jobs(current_app.config)
    scheduler = build_scheduler(current_app._get_current_object(), BlockingScheduler)
    click.echo(f"Scheduler running {len(jobs)} job(s): {', '.join(job.id for job in jobs)}")
    scheduler.start()


@scheduler_cli.command("list")
def list_jobs_command() -> None:
    """Print every job with its trigger."""
    for job in JOBS:
        click.echo(f"{job.id}  {job.trigger}")
