"""Demo billing data: most practitioners active, one past due, one on trial,
and a few issued invoices (one paid, one open, one overdue)."""

import datetime as dt

import sqlalchemy as sa

from webapp.accounts.models import User
from webapp.billing import invoicing, payments, periods
from webapp.billing.models import PaymentMethod, Subscription, SubscriptionStatus
from webapp.billing.subscriptions import record_payment_failure
from webapp.db import now_utc
from webapp.extensions import db

DAY = dt.timedelta(days=1)


def _start_paid_period(subscription: Subscription, start: dt.datetime) -> None:
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.trial_ends_at = start
    subscription.current_period_start, subscription.current_period_end = start, periods.add_months(start, 1)


def seed_billing_demo(*, operator: User, now: dt.datetime | None = None) -> None:
    """Needs the demo practitioners (their trials start at sign-up)."""
    now = now or now_utc()
    subscriptions = db.session.scalars(sa.select(Subscription).order_by(Subscription.practitioner_id)).all()
    paid, trialing, past_due, open_invoice = subscriptions[0], subscriptions[1], subscriptions[2], subscriptions[3]
    for subscription in subscriptions:
        if subscription is not trialing:
            _start_paid_period(subscription, now - 10 * DAY)

    paid_invoice, _ = (
        invoicing.issue_period_invoice(subscription, period_start=subscription.current_period_start,
                                       period_end=subscription.current_period_end, now=now - 10 * DAY)
        for subscription in (paid, open_invoice)
    )
    payments.mark_invoice_paid(paid_invoice.id, actor=operator, method=PaymentMethod.BANK_TRANSFER,
                               paid_on=(now - 5 * DAY).date(), reference="VIR CARNET DEMO 0001", now=now)

    # Invoiced 45 days ago with 30 days to pay: overdue for 15 days, within the grace period.
    overdue_start = now - 45 * DAY
    _start_paid_period(past_due, overdue_start)
    overdue = invoicing.issue_period_invoice(past_due, period_start=overdue_start,
                                             period_end=past_due.current_period_end, now=overdue_start)
    record_payment_failure(past_due, since=overdue.due_at)
    db.session.flush()
