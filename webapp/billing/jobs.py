"""Time-driven billing work, one subscription per unit of work.

The scheduler calls these functions; `flask billing issue-invoices` and
`flask billing apply-grace-period` run them by hand. Both are idempotent:
running them twice at the same `now` changes nothing the second time.
"""

import datetime as dt
import logging
from contextlib import contextmanager

import click
from flask.cli import AppGroup

from webapp.billing import invoicing, payments
from webapp.billing.plans import list_plans
from webapp.db import now_utc
from webapp.transaction import transaction

log = logging.getLogger(__name__)


@contextmanager
def _one_subscription(subscription_id: int):
    """One unit of work; a failure is logged and the job goes on with the
    next subscription (the next run retries this one)."""
    try:
        with transaction():
            yield
    except Exception:
        log.exception("billing job failed for subscription %s", subscription_id)


def issue_invoices(now: dt.datetime | None = None) -> int:
    """Manual provider: invoice every period that has started by `now`, end
    cancellations requested for a period that has ended. Returns the number
    of invoices issued."""
    now = now or now_utc()
    with transaction():
        subscription_ids = invoicing.subscriptions_due_for_invoicing(now)
    issued = 0
    for subscription_id in subscription_ids:
        with _one_subscription(subscription_id):
            issued += len(invoicing.invoice_subscription(subscription_id, now=now))
    log.info("billing: %d invoice(s) issued", issued)
    return issued


def apply_grace_period(now: dt.datetime | None = None) -> int:
    """Overdue invoices make subscriptions past due; past due beyond the
    grace period suspends them. Returns the number of subscriptions checked."""
    now = now or now_utc()
    with transaction():
        subscription_ids = payments.subscriptions_to_check_for_grace(now)
    for subscription_id in subscription_ids:
        with _one_subscription(subscription_id):
            payments.apply_grace_period_to(subscription_id, now=now)
    return len(subscription_ids)


billing_cli = AppGroup("billing", help="Billing jobs: invoicing and grace period.")


@billing_cli.command("issue-invoices")
def issue_invoices_command() -> None:
    """Issue the invoices due now (manual provider)."""
    click.echo(f"{issue_invoices()} invoice(s) issued.")


@billing_cli.command("apply-grace-period")
def apply_grace_period_command() -> None:
    """Mark overdue subscriptions past due, suspend them after the grace period."""
    click.echo(f"{apply_grace_period()} subscription(s) checked.")


@billing_cli.command("sync-plans")
def sync_plans_command() -> None:
    """Create or update the plans from the configuration."""
    with transaction():
        plans = list_plans()
    for plan in plans:
        click.echo(f"{plan.code}: {plan.price_cents} cents HT, VAT {plan.vat_rate_bp / 100} %")
