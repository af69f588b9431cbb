"""Billing jobs and concurrency: the CLI commands, numbering under concurrent
issuing, concurrent job runs and payments (the last three on PostgreSQL)."""

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from tests import factories
from tests.billing.factories import START, make_invoice, make_subscription
from webapp.accounts.models import Role, User
from webapp.billing import invoicing, jobs, payments
from webapp.billing.errors import InvoiceAlreadyPaid
from webapp.billing.models import Invoice, InvoiceCounter, Payment, PaymentMethod, SubscriptionStatus
from webapp.billing.subscriptions import lock_subscription
from webapp.db import now_utc
from webapp.extensions import db
from webapp.transaction import transaction

THREADS = 8


def test_cli_commands_run_the_jobs(app):
    subscription = make_subscription(now=now_utc() - dt.timedelta(days=31))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["billing", "issue-invoices"])
    assert result.exit_code == 0 and "1 invoice(s) issued" in result.output
    assert runner.invoke(args=["billing", "issue-invoices"]).output.startswith("0 invoice(s)")
    result = runner.invoke(args=["billing", "apply-grace-period"])
    assert result.exit_code == 0 and "0 subscription(s) checked" in result.output
    db.session.expire_all()
    assert db.session.get(type(subscription), subscription.id).status is SubscriptionStatus.ACTIVE
    plans = runner.invoke(args=["billing", "sync-plans"])
    assert "practitioner: 8900 cents HT" in plans.output


def test_a_failure_on_one_subscription_does_not_block_the_others(app, monkeypatch, caplog):
    first = make_subscription(now=START)
    make_subscription(now=START)
    original = invoicing.invoice_due_periods

    def failing_for_first(subscription, *, now):
        if subscription.id == first.id:
            raise RuntimeError("this subscription cannot be invoiced")
        return original(subscription, now=now)

    monkeypatch.setattr(invoicing, "invoice_due_periods", failing_for_first)
    assert jobs.issue_invoices(now=START + dt.timedelta(days=30)) == 1
    assert f"subscription {first.id}" in caplog.text
    monkeypatch.setattr(invoicing, "invoice_due_periods", original)
    assert jobs.issue_invoices(now=START + dt.timedelta(days=30)) == 1
    assert db.session.scalars(sa.select(Invoice.seq).order_by(Invoice.seq)).all() == [1, 2]


@pytest.mark.postgres_only
def test_concurrent_issuing_leaves_no_gap_and_no_duplicate(app):
    subscriptions = [make_subscription(status=SubscriptionStatus.ACTIVE) for _ in range(THREADS)]
    ids = [subscription.id for subscription in subscriptions]
    barrier = threading.Barrier(THREADS)
    errors = []

    def issue(subscription_id: int, index: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                with transaction():
                    subscription = lock_subscription(subscription_id)
                    invoicing.issue_period_invoice(subscription, period_start=START,
                                                   period_end=START + dt.timedelta(days=31), now=START)
                    if index % 3 == 0:
                        raise RuntimeError("rolled back after taking a number")
            except RuntimeError:
                pass
            except Exception as error:  # noqa: BLE001 - reported to the test thread
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue, args=(subscription_id, index))
               for index, subscription_id in enumerate(ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    kept = len([index for index in range(THREADS) if index % 3 != 0])
    seqs = db.session.scalars(sa.select(Invoice.seq).where(Invoice.year == 2026).order_by(Invoice.seq)).all()
    assert seqs == list(range(1, kept + 1))
    assert db.session.get(InvoiceCounter, 2026).last_seq == kept
    numbers = db.session.scalars(sa.select(Invoice.number)).all()
    assert len(set(numbers)) == len(numbers) == kept


@pytest.mark.postgres_only
def test_concurrent_job_runs_invoice_each_period_once(app):
    for _ in range(3):
        make_subscription(now=START)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait()
                results.append(jobs.issue_invoices(now=START + dt.timedelta(days=30)))
            except Exception as error:  # noqa: BLE001 - reported to the test thread
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sum(results) == 3
    assert db.session.scalars(sa.select(Invoice.seq).order_by(Invoice.seq)).all() == [1, 2, 3]


@pytest.mark.postgres_only
def test_two_people_marking_one_invoice_paid_at_once_record_one_payment(app):
    invoice_id = make_invoice().id
    admins = [factories.make_staff(role=Role.ADMIN).id for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes = []

    def mark(admin_id: int) -> None:
        with app.app_context():
            try:
                barrier.wait()
                with transaction():
                    payments.mark_invoice_paid(invoice_id, actor=db.session.get(User, admin_id),
                                               method=PaymentMethod.BANK_TRANSFER, paid_on=START.date(),
                                               reference=f"VIR {admin_id}", now=START)
                outcomes.append("paid")
            except InvoiceAlreadyPaid:
                outcomes.append("already paid")
            except Exception as error:  # noqa: BLE001 - reported to the test thread
                outcomes.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=mark, args=(admin_id,)) for admin_id in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already paid", "paid"]
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1
