"""The jobs each feature needs are in the registry, and a run calls their service."""

import datetime as dt

import sqlalchemy as sa

from tests import factories
from tests.billing.factories import make_active_subscription, make_subscription
from webapp.accounts.models import BrowserSession
from webapp.api.models import IdempotencyKey
from webapp.billing.models import Invoice, Subscription, SubscriptionStatus
from webapp.extensions import db
from webapp.jobs import JOBS
from webapp.scheduler import JobRun, run_job

JOB_BY_ID = {job.id: job for job in JOBS}


def test_scheduler_list_shows_every_job(app):
    result = app.test_cli_runner().invoke(args=["scheduler", "list"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.output.splitlines()}
    assert {"notifications.send_outbox", "billing.issue_invoices", "billing.apply_grace_period",
            "api.purge_idempotency_keys", "accounts.prune_browser_sessions"} <= listed


def test_the_invoicing_run_issues_the_invoice_of_a_period_that_started():
    start = dt.datetime(2027, 1, 10, 9, tzinfo=dt.UTC)
    subscription = make_subscription(now=start)  # a 30-day trial: the first period starts on 9 February
    day_after = dt.datetime(2027, 2, 10, 8, tzinfo=dt.UTC)

    assert run_job(JOB_BY_ID["billing.issue_invoices"], day_after) is True

    [invoice] = db.session.scalars(sa.select(Invoice).where(Invoice.subscription_id == subscription.id))
    assert invoice.issued_at == dt.datetime(2027, 2, 10, 5, tzinfo=dt.UTC)  # that morning's run
    assert db.session.scalar(sa.select(JobRun.finished_at).where(JobRun.job_id == "billing.issue_invoices"))


def test_the_grace_period_run_makes_an_overdue_subscription_past_due():
    subscription = make_active_subscription()
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.subscription_id == subscription.id))
    later = invoice.due_at + dt.timedelta(days=2)

    assert run_job(JOB_BY_ID["billing.apply_grace_period"], later) is True

    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.PAST_DUE


def test_the_purge_run_deletes_expired_idempotency_keys_only():
    user = factories.make_user()
    now = dt.datetime(2027, 3, 3, 12, tzinfo=dt.UTC)
    for key, expires_at in (("old", now - dt.timedelta(days=1)), ("fresh", now + dt.timedelta(days=1))):
        db.session.add(IdempotencyKey(user_id=user.id, key=key, request_hash="0" * 64, expires_at=expires_at))
    db.session.commit()

    assert run_job(JOB_BY_ID["api.purge_idempotency_keys"], now) is True

    assert list(db.session.scalars(sa.select(IdempotencyKey.key))) == ["fresh"]


def test_the_prune_run_deletes_browser_session_records_older_than_the_longest_lifetime():
    user = factories.make_user()
    now = dt.datetime(2027, 3, 3, 12, tzinfo=dt.UTC)
    for digest, age in (("a" * 64, dt.timedelta(days=8)), ("b" * 64, dt.timedelta(days=6))):
        db.session.add(BrowserSession(id=digest, user_id=user.id, created_at=now - age, ended_at=now - age))
    db.session.commit()

    assert run_job(JOB_BY_ID["accounts.prune_browser_sessions"], now) is True

    assert list(db.session.scalars(sa.select(BrowserSession.id))) == ["b" * 64]
