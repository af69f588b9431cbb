"""The one registry of scheduled jobs: stable ids, triggers, and the service each calls.

A job is a function `func(now)` that only calls services; `now` is the due
time of the run. The scheduler (`webapp.scheduler`) runs each inside an
app context, in a `transaction()` unless the job commits step by step
itself (`transactional=False`), and at most once per due time even when two
schedulers run by mistake. Adding a job is one line in `JOBS`, e.g.

    Job("dmp.push_documents", push_pending_documents, every(minutes=1), transactional=False),

Appointment reminders need no job: they are outbox rows with a due time.
"""

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from webapp.accounts.session_records import prune_session_records
from webapp.api.idempotency import purge_expired_idempotency_keys
from webapp.billing.jobs import apply_grace_period, issue_invoices
from webapp.booking.holds import delete_old_holds
from webapp.booking.next_availability import refresh_stale
from webapp.dmp.outbox import push_pending_documents
from webapp.dmp.settings import connector_enabled
from webapp.notifications.sender import send_due_notifications

# Interval jobs count from one fixed origin, so that every scheduler process
# agrees on the due times (and a duplicate scheduler finds them taken).
INTERVAL_ORIGIN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
JOBS_TIMEZONE = "Europe/Paris"


def every(**interval) -> IntervalTrigger:
    """A fixed interval (`every(seconds=15)`), aligned on `INTERVAL_ORIGIN`."""
    return IntervalTrigger(**interval, start_date=INTERVAL_ORIGIN, timezone=dt.UTC)


def cron(**fields) -> CronTrigger:
    """Calendar times in French local time (`cron(day=1, hour=6)`)."""
    return CronTrigger(**fields, timezone=JOBS_TIMEZONE)


def always(config: Mapping) -> bool:
    return True


@dataclasses.dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[dt.datetime], object]
    trigger: BaseTrigger
    transactional: bool = True
    # Whether the job runs with this configuration (optional features).
    enabled: Callable[[Mapping], bool] = always


JOBS: list[Job] = [
    Job("notifications.send_outbox", send_due_notifications, every(seconds=15), transactional=False),
    Job("dmp.push_documents", push_pending_documents, every(minutes=1), transactional=False,
        enabled=connector_enabled),
    # Billing jobs commit one subscription at a time, so one failure does not undo the others.
    # Periods start on each subscription's own anniversary day: a daily run issues every
    # invoice on the day its period starts (a run on the 1st only would issue most of them late).
    Job("billing.issue_invoices", issue_invoices, cron(hour=6), transactional=False),
    Job("billing.apply_grace_period", apply_grace_period, cron(hour=7), transactional=False),
    Job("api.purge_idempotency_keys", purge_expired_idempotency_keys, cron(hour=4)),
    Job("accounts.prune_browser_sessions", prune_session_records, cron(hour=4, minute=30)),
    # Housekeeping only: an expired slot hold already blocks nothing.
    Job("booking.delete_old_holds", delete_old_holds, cron(hour=4, minute=45)),
    # Each practitioner's local midnight and passing minimum notice move their next
    # availability; until this runs, search verifies the values past their `stale_at`.
    Job("booking.refresh_next_availability", refresh_stale, every(minutes=5), transactional=False),
]


def active_jobs(config: Mapping) -> list[Job]:
    """The jobs that run with this configuration."""
    return [job for job in JOBS if job.enabled(config)]
