"""The back office's figures: subscriptions by status, MRR, revenue per month."""

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from webapp.accounts.models import User
from webapp.billing.models import REVENUE_STATUSES, Invoice, Subscription, SubscriptionStatus
from webapp.billing.periods import add_months, billing_timezone
from webapp.billing.rules import REVENUE_HISTORY_MONTHS
from webapp.billing.scope import back_office_scope
from webapp.billing.subscriptions import subscription_quantity
from webapp.db import now_utc
from webapp.extensions import db


@dataclass(frozen=True)
class Metrics:
    mrr_cents: int
    active: int
    trialing: int
    past_due: int
    suspended: int
    cancelled: int


def metrics(actor: User) -> Metrics:
    """Counts by status and the monthly recurring revenue (HT cents) of the
    subscriptions that pay (active or past due), at today's plan prices."""
    scope = back_office_scope(actor)
    counts = dict(db.session.execute(
        sa.select(Subscription.status, sa.func.count(Subscription.id)).where(scope).group_by(Subscription.status)
    ).all())
    paying = db.session.scalars(sa.select(Subscription).where(scope, Subscription.status.in_(REVENUE_STATUSES)))
    mrr = sum(subscription.plan.price_cents * subscription_quantity(subscription) for subscription in paying)
    return Metrics(mrr_cents=mrr, **{status.value: counts.get(status, 0) for status in SubscriptionStatus})


def monthly_revenue(actor: User, *, now: dt.datetime | None = None,
                    months: int = REVENUE_HISTORY_MONTHS) -> list[tuple[dt.date, int]]:
    """Net amount invoiced HT per month (credit notes deducted), oldest first,
    over the last `months` months including the current one: MRR as billed."""
    tz = billing_timezone()
    today = (now or now_utc()).astimezone(tz).date()
    firsts = [add_months(dt.datetime(today.year, today.month, 1), -offset).date()
              for offset in range(months - 1, -1, -1)]
    start = dt.datetime.combine(firsts[0], dt.time(), tzinfo=tz)
    totals = {first: 0 for first in firsts}
    rows = db.session.execute(
        sa.select(Invoice.issued_at, Invoice.total_ht_cents).join(Subscription,
                                                                  Invoice.subscription_id == Subscription.id)
        .where(back_office_scope(actor), Invoice.issued_at >= start)
    )
    for issued_at, total_ht in rows:
        local = issued_at.astimezone(tz)
        month = dt.date(local.year, local.month, 1)
        if month in totals:
            totals[month] += total_ht
    return list(totals.items())
