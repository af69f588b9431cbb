"""Billing factories: subscriptions in a given state, issued invoices."""

import datetime as dt
import itertools

from tests import factories
from webapp.billing import invoicing, periods, subscriptions
from webapp.billing.models import Invoice, ProviderName, Subscription, SubscriptionStatus
from webapp.extensions import db

START = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)
_stripe_ids = itertools.count(1)


def make_subscription(practitioner=None, *, now: dt.datetime = START, **overrides) -> Subscription:
    """A trial started at `now` (through the service), then `overrides`."""
    practitioner = practitioner or factories.make_practitioner()
    subscription = subscriptions.start_trial(practitioner, now=now)
    for name, value in overrides.items():
        setattr(subscription, name, value)
    db.session.commit()
    return subscription


def make_active_subscription(practitioner=None, *, now: dt.datetime = START, **overrides) -> Subscription:
    """A manual subscription whose trial ended: its first invoice is issued."""
    subscription = make_subscription(practitioner, now=now - dt.timedelta(days=30), **overrides)
    invoicing.invoice_due_periods(subscription, now=now)
    db.session.commit()
    return subscription


def make_invoice(subscription: Subscription | None = None, *, now: dt.datetime = START) -> Invoice:
    """An issued, open invoice for the subscription's next month."""
    subscription = subscription or make_subscription(status=SubscriptionStatus.ACTIVE)
    start = subscription.current_period_end
    invoice = invoicing.issue_period_invoice(subscription, period_start=start, period_end=periods.add_months(start, 1),
                                            now=now)
    subscription.current_period_start, subscription.current_period_end = start, periods.add_months(start, 1)
    db.session.commit()
    return invoice


def make_stripe_subscription(practitioner=None, **overrides) -> Subscription:
    n = next(_stripe_ids)
    values = dict(provider=ProviderName.STRIPE, status=SubscriptionStatus.ACTIVE,
                  stripe_customer_id=f"cus_test_{n}", stripe_subscription_id=f"sub_test_{n}")
    return make_subscription(practitioner, **(values | overrides))
