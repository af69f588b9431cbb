"""The back office's subscriptions and invoices: search, the invoice and
failed-payment lists, one subscription's file (status history, invoices,
payments), a clinic's subscription and a cancellation by the operator.

Scope as everywhere in billing (`scope.back_office_scope`): the operator
sees every subscription, a clinic's accountants their clinic's; only the
operator acts on money and cancels.
"""

import datetime as dt
import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, selectinload

from webapp.accounts.models import Clinic, PractitionerProfile, User
from webapp.billing.errors import (
    ClinicAlreadySubscribed,
    InvalidBillingData,
    ManagedByStripe,
    NoSubscription,
    SubscriptionNotActive,
)
from webapp.billing.invoicing import INVOICE_LIST_LOADING, invoice_due_periods
from webapp.billing.models import (
    Invoice,
    InvoiceKind,
    Payment,
    ProviderName,
    Subscription,
    SubscriptionStatus,
    SubscriptionStatusChange,
)
from webapp.billing.payments import open_invoices_condition
from webapp.billing.plans import CLINIC_PLAN, sync_plans
from webapp.billing.rules import SEARCH_MAX_LENGTH
from webapp.billing.scope import back_office_scope, require_operator
from webapp.billing.subscriptions import cancel_now, lock_subscription
from webapp.db import now_utc
from webapp.extensions import db

# -- the lists: subscriptions searched, invoices, failed payments ----------------

SUBSCRIPTION_LIST_LOADING = (selectinload(Subscription.plan), selectinload(Subscription.practitioner),
                             selectinload(Subscription.clinic))
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


def invoices_query(actor: User, *, status: str | None = None, kind: InvoiceKind | None = None) -> sa.Select:
    statement = sa.select(Invoice).join(Subscription, Invoice.subscription_id == Subscription.id) \
        .where(back_office_scope(actor)).options(*INVOICE_LIST_LOADING) \
        .order_by(Invoice.year.desc(), Invoice.seq.desc())
    if kind is not None:
        statement = statement.where(Invoice.kind == kind)
    credit = aliased(Invoice)
    paid = sa.exists().where(Payment.invoice_id == Invoice.id)
    credited = sa.exists().where(credit.credit_of_id == Invoice.id)
    conditions = {
        "open": open_invoices_condition(),
        "paid": sa.and_(Invoice.kind == InvoiceKind.INVOICE, paid),
        "credited": sa.and_(Invoice.kind == InvoiceKind.INVOICE, ~paid, credited),
        "issued": Invoice.kind == InvoiceKind.CREDIT_NOTE,
    }
    if status is not None:
        statement = statement.where(conditions[status])
    return statement


def failed_payments_query(actor: User) -> sa.Select:
    """Past-due and suspended subscriptions, the longest overdue first."""
    return sa.select(Subscription).where(
        back_office_scope(actor),
        Subscription.status.in_([SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED]),
    ).options(*SUBSCRIPTION_LIST_LOADING).order_by(Subscription.past_due_since, Subscription.id)


# -- one subscription's file -----------------------------------------------------

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


# -- the operator's acts on subscriptions ----------------------------------------

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


def subscribe_clinic(clinic_id: int, *, actor: User, now: dt.datetime | None = None) -> Subscription:
    """The operator moves a clinic to the clinic plan, billed per practitioner
    from today. Its practitioners' own subscriptions end: the clinic pays."""
    require_operator(actor)
    clinic = db.session.get(Clinic, clinic_id)
    if clinic is None:
        raise InvalidBillingData(fields={"clinic_id": [str(_l("Unknown clinic."))]})
    if db.session.scalar(sa.select(Subscription.id).where(Subscription.clinic_id == clinic_id)):
        raise ClinicAlreadySubscribed()
    now = now or now_utc()
    subscription = Subscription(
        clinic=clinic, plan=sync_plans()[CLINIC_PLAN], provider=ProviderName.MANUAL,
        status=SubscriptionStatus.ACTIVE, current_period_start=now, current_period_end=now,
    )
    db.session.add(subscription)
    members = db.session.scalars(
        sa.select(Subscription).join(PractitionerProfile, Subscription.practitioner_id == PractitionerProfile.id)
        .where(PractitionerProfile.clinic_id == clinic_id, Subscription.status != SubscriptionStatus.CANCELLED)
    )
    for own in members:
        own.status, own.cancelled_at = SubscriptionStatus.CANCELLED, now
    db.session.flush()
    invoice_due_periods(subscription, now=now)
    return subscription
