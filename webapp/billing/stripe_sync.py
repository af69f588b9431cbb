"""Stripe-driven changes: our subscriptions and invoices follow what Stripe reports."""

import datetime as dt

import sqlalchemy as sa

from webapp.billing.invoicing import issue_period_invoice, store_invoice_document
from webapp.billing.models import Invoice, Payment, PaymentMethod, ProviderName, Subscription, SubscriptionStatus
from webapp.billing.periods import billing_timezone
from webapp.billing.subscriptions import cancel_now, lock_subscription, mark_in_good_standing, record_payment_failure
from webapp.extensions import db


def subscription_for_stripe(*, stripe_subscription_id: str | None = None, customer_id: str | None = None,
                            subscription_id: int | None = None) -> Subscription | None:
    """Our subscription for a Stripe object, by the most precise id it carries."""
    for column, value in ((Subscription.stripe_subscription_id, stripe_subscription_id),
                          (Subscription.stripe_customer_id, customer_id), (Subscription.id, subscription_id)):
        if value:
            found = db.session.scalar(sa.select(Subscription.id).where(column == value))
            if found is not None:
                return lock_subscription(found)
    return None


def record_stripe_customer(subscription_id: int, customer_id: str) -> None:
    subscription = lock_subscription(subscription_id)
    if subscription.stripe_customer_id is None:
        subscription.stripe_customer_id = customer_id
        db.session.flush()


def link_stripe_subscription(subscription: Subscription, *, customer_id: str, stripe_subscription_id: str) -> None:
    """Checkout completed: the subscription is paid through Stripe from now on."""
    subscription.provider = ProviderName.STRIPE
    subscription.stripe_customer_id = customer_id
    subscription.stripe_subscription_id = stripe_subscription_id
    subscription.cancel_at_period_end = False
    if subscription.status is SubscriptionStatus.CANCELLED:
        subscription.status, subscription.cancelled_at = SubscriptionStatus.ACTIVE, None
    db.session.flush()


def record_stripe_payment(subscription: Subscription, *, stripe_invoice_id: str, period_start: dt.datetime,
                          period_end: dt.datetime, paid_at: dt.datetime, now: dt.datetime,
                          sets_standing: bool = True) -> Invoice | None:
    """Stripe collected a period: issue our numbered invoice (once per Stripe
    invoice and per period) and record the card payment; unless newer news
    already arrived (`sets_standing` false), the period is current and the
    subscription back in good standing."""
    invoice = None
    already = db.session.scalar(sa.select(Invoice.id).where(sa.or_(
        Invoice.external_id == stripe_invoice_id,
        sa.and_(Invoice.subscription_id == subscription.id, Invoice.period_start == period_start),
    )))
    if already is None:
        invoice = issue_period_invoice(subscription, period_start=period_start, period_end=period_end, now=now,
                                       external_id=stripe_invoice_id, with_document=False)
        db.session.add(Payment(invoice=invoice, method=PaymentMethod.CARD, amount_cents=invoice.total_ttc_cents,
                               paid_on=paid_at.astimezone(billing_timezone()).date(), reference=stripe_invoice_id,
                               recorded_at=now))
        # Paid by card when issued: the document says so.
        store_invoice_document(invoice)
    if sets_standing:
        subscription.current_period_start, subscription.current_period_end = period_start, period_end
        mark_in_good_standing(subscription)
    return invoice


def apply_stripe_subscription_state(subscription: Subscription, *, status: str, cancel_at_period_end: bool,
                                    period_end: dt.datetime | None, now: dt.datetime) -> None:
    """Mirror Stripe's view of the subscription. A suspension is ours to lift
    only when a payment arrives (invoice.paid), never from a status alone."""
    subscription.cancel_at_period_end = cancel_at_period_end
    if period_end is not None:
        subscription.current_period_end = period_end
    if status == "trialing" and subscription.status is SubscriptionStatus.TRIALING:
        pass
    elif status == "active" and subscription.status is SubscriptionStatus.TRIALING:
        subscription.status = SubscriptionStatus.ACTIVE
    elif status in ("past_due", "unpaid"):
        record_payment_failure(subscription, since=now)
    elif status == "canceled":
        cancel_now(subscription, now=now)
    db.session.flush()
