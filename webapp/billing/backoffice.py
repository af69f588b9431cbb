"""The back office's subscriptions: search, one subscription's file (status
history, invoices, payments) and its cancellation by the operator.

Scope as everywhere in billing (`services.back_office_scope`): the operator
sees every subscription, a clinic's accountants their clinic's; only the
operator acts on money and cancels.
"""

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from webapp.accounts.models import Clinic, PractitionerProfile, User
from webapp.billing.errors import ManagedByStripe, NoSubscription, SubscriptionNotActive
from webapp.billing.models import Invoice, Payment, Subscription, SubscriptionStatus, SubscriptionStatusChange
from webapp.billing.services import (
    INVOICE_LIST_LOADING,
    SUBSCRIPTION_LIST_LOADING,
    back_office_scope,
    cancel_now,
    lock_subscription,
    require_operator,
)
from webapp.db import now_utc
from webapp.extensions import db

SEARCH_MAX_LENGTH = 100
_searched_practitioner = aliased(PractitionerProfile, name="searched_practitioner")
_searched_user = aliased(User, name="searched_user")
_searched_clinic = aliased(Clinic, name="searched_clinic")


def _contains(column, text: str):
    return sa.func.lower(column).contains(text.lower(), autoescape=True)


def search_subscriptions_query(actor: User, *, text: str | None = None,
                               status: SubscriptionStatus | None = None) -> sa.Select:
    """Subscriptions in the actor's scope whose practitioner (first or last
    name, both, email), clinic, company name or SIREN/SIRET (spaces ignored)
    contains `text`, with `status`; the oldest first."""
    statement = sa.select(Subscription).where(back_office_scope(actor)) \
        .options(*SUBSCRIPTION_LIST_LOADING).order_by(Subscription.id)
    if status is not None:
        statement = statement.where(Subscription.status == status)
    text = " ".join((text or "").split())[:SEARCH_MAX_LENGTH]
    if not text:
        return statement
    statement = statement \
        .outerjoin(_searched_practitioner, Subscription.practitioner_id == _searched_practitioner.id) \
        .outerjoin(_searched_user, _searched_practitioner.user_id == _searched_user.id) \
        .outerjoin(_searched_clinic, Subscription.clinic_id == _searched_clinic.id)
    full_name = _searched_practitioner.first_name + " " + _searched_practitioner.last_name
    matches = [_contains(full_name, text), _contains(_searched_practitioner.last_name + " "
                                                     + _searched_practitioner.first_name, text),
               _contains(_searched_user.email, text), _contains(_searched_clinic.name, text),
               _contains(Subscription.billing_name, text)]
    digits = re.sub(r"[\s.]", "", text)
    if digits.isdigit():
        matches += [Subscription.billing_siret.startswith(digits, autoescape=True),
                    _searched_clinic.siret.startswith(digits, autoescape=True)]
    return statement.where(sa.or_(*matches))


def back_office_subscription(subscription_id: int, actor: User) -> Subscription:
    """A subscription in the actor's scope ("not found" otherwise)."""
    subscription = db.session.scalar(
        sa.select(Subscription).where(Subscription.id == subscription_id, back_office_scope(actor))
        .options(*SUBSCRIPTION_LIST_LOADING)
    )
    if subscription is None:
        raise NoSubscription()
    return subscription


def status_history(subscription: Subscription) -> list[SubscriptionStatusChange]:
    """Its statuses, oldest first."""
    return list(db.session.scalars(subscription.status_changes.select()))


def subscription_invoices(subscription: Subscription) -> list[Invoice]:
    """Its invoices and credit notes, the newest first."""
    return list(db.session.scalars(
        sa.select(Invoice).where(Invoice.subscription_id == subscription.id).options(*INVOICE_LIST_LOADING)
        .order_by(Invoice.year.desc(), Invoice.seq.desc())
    ))


def subscription_payments(subscription: Subscription) -> list[Payment]:
    """The payments received for its invoices, the latest first."""
    return list(db.session.scalars(
        sa.select(Payment).join(Invoice, Payment.invoice_id == Invoice.id)
        .where(Invoice.subscription_id == subscription.id).order_by(Payment.paid_on.desc(), Payment.id.desc())
    ))


def cancel_subscription(subscription_id: int, *, actor: User, now: dt.datetime | None = None) -> Subscription:
    """The operator ends a subscription at once: the practitioner (or the
    clinic's practitioners) can no longer be booked online; invoices already
    issued stay due. A subscription paid through Stripe is cancelled from
    Stripe (which would go on charging); a cancelled one stays cancelled."""
    back_office_subscription(subscription_id, actor)
    require_operator(actor)
    subscription = lock_subscription(subscription_id)
    if subscription.stripe_subscription_id:
        raise ManagedByStripe()
    if subscription.status is SubscriptionStatus.CANCELLED:
        raise SubscriptionNotActive()
    cancel_now(subscription, now=now or now_utc())
    return subscription
