"""The subscription lifecycle: trial, cancellation, past due, suspension, good standing.

Services flush but never commit; the caller wraps them in `transaction()`.
"""

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from webapp.accounts.models import PractitionerProfile, Role, User
from webapp.billing.errors import ManagedByStripe, NoSubscription, SubscriptionNotActive
from webapp.billing.models import ProviderName, Subscription, SubscriptionStatus
from webapp.billing.plans import PRACTITIONER_PLAN, sync_plans
from webapp.billing.signals import payment_failed, subscription_suspended
from webapp.db import now_utc
from webapp.extensions import db

# -- whose subscription ----------------------------------------------------------

def start_trial(practitioner: PractitionerProfile, *, now: dt.datetime | None = None) -> Subscription:
    """A new practitioner gets the practitioner plan on a free trial
    (`CARNET_TRIAL_DAYS`), with the configured provider; once only."""
    existing = subscription_of_practitioner(practitioner.id)
    if existing is not None:
        return existing
    now = now or now_utc()
    trial_end = now + dt.timedelta(days=current_app.config["CARNET_TRIAL_DAYS"])
    subscription = Subscription(
        practitioner=practitioner, plan=sync_plans()[PRACTITIONER_PLAN],
        provider=ProviderName(current_app.config["CARNET_BILLING_PROVIDER"]),
        status=SubscriptionStatus.TRIALING, trial_ends_at=trial_end,
        current_period_start=now, current_period_end=trial_end, created_at=now,
    )
    db.session.add(subscription)
    db.session.flush()
    return subscription


def start_trial_for_new_practitioner(sender, *, practitioner: PractitionerProfile, **extra) -> None:
    """Receiver of `accounts.registration.practitioner_registered`."""
    start_trial(practitioner)


def subscription_of_practitioner(practitioner_id: int) -> Subscription | None:
    return db.session.scalar(sa.select(Subscription).where(Subscription.practitioner_id == practitioner_id))


def own_subscription(user: User) -> Subscription:
    """The practitioner's own subscription (404 for anyone else or none)."""
    profile = user.practitioner_profile if user.role is Role.PRACTITIONER else None
    subscription = subscription_of_practitioner(profile.id) if profile is not None else None
    if subscription is None:
        raise NoSubscription()
    return subscription


def subscription_quantity(subscription: Subscription) -> int:
    """How many units a period costs: 1, or the clinic's practitioners."""
    if subscription.clinic_id is None:
        return 1
    return db.session.scalar(
        sa.select(sa.func.count(PractitionerProfile.id)).where(PractitionerProfile.clinic_id == subscription.clinic_id)
    ) or 0


def lock_subscription(subscription_id: int) -> Subscription:
    """The subscription, locked for this transaction (PostgreSQL), so two
    runs of a job or a job and a webhook never act on it at once."""
    subscription = db.session.scalar(
        sa.select(Subscription).where(Subscription.id == subscription_id).with_for_update(of=Subscription)
        .execution_options(populate_existing=True)
    )
    if subscription is None:
        raise NoSubscription()
    return subscription


# -- the practitioner ends or keeps it -------------------------------------------

def request_cancellation(user: User) -> Subscription:
    """The practitioner stops at the end of the period already paid for."""
    subscription = own_subscription(user)
    if subscription.stripe_subscription_id:
        raise ManagedByStripe()
    if subscription.status is SubscriptionStatus.CANCELLED:
        raise SubscriptionNotActive()
    subscription.cancel_at_period_end = True
    db.session.flush()
    return subscription


def undo_cancellation(user: User) -> Subscription:
    """Keep a subscription whose cancellation was requested but not reached."""
    subscription = own_subscription(user)
    if subscription.stripe_subscription_id:
        raise ManagedByStripe()
    if subscription.status is SubscriptionStatus.CANCELLED or not subscription.cancel_at_period_end:
        raise SubscriptionNotActive()
    subscription.cancel_at_period_end = False
    db.session.flush()
    return subscription


def cancel_now(subscription: Subscription, *, now: dt.datetime) -> None:
    if subscription.status is not SubscriptionStatus.CANCELLED:
        subscription.status, subscription.cancelled_at = SubscriptionStatus.CANCELLED, now
        subscription.cancel_at_period_end = False
        db.session.flush()


# -- standing: past due, suspended, in good standing -----------------------------
# Only a suspended or cancelled subscription stops online booking
# (`bookability`); past due is a warning that keeps the practitioner bookable.

def record_payment_failure(subscription: Subscription, *, since: dt.datetime) -> None:
    """A payment failed: past due from `since`, suspended after the grace
    period. A subscription already past due or suspended keeps its dates."""
    if subscription.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED,
                               SubscriptionStatus.CANCELLED):
        return
    subscription.status = SubscriptionStatus.PAST_DUE
    subscription.past_due_since = since
    db.session.flush()
    payment_failed.send(current_app._get_current_object(), subscription=subscription)


def mark_in_good_standing(subscription: Subscription) -> None:
    """Paid up: active again, bookable again."""
    if subscription.status is SubscriptionStatus.CANCELLED:
        return
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.past_due_since = None
    subscription.suspended_at = None
    db.session.flush()


def suspend_if_grace_is_over(subscription: Subscription, *, now: dt.datetime) -> bool:
    """Past due for longer than `CARNET_GRACE_DAYS`: suspended (not bookable)."""
    grace = dt.timedelta(days=current_app.config["CARNET_GRACE_DAYS"])
    if subscription.status is not SubscriptionStatus.PAST_DUE or subscription.past_due_since + grace > now:
        return False
    subscription.status = SubscriptionStatus.SUSPENDED
    subscription.suspended_at = now
    db.session.flush()
    subscription_suspended.send(current_app._get_current_object(), subscription=subscription)
    return True
