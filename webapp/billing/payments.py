"""What is owed and how it is settled: open invoices, the grace period, payments
the operator records, credit notes.
"""

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from webapp.accounts.models import User
from webapp.billing.errors import InvalidBillingData, InvoiceAlreadyCredited, InvoiceAlreadyPaid, NotAnInvoice
from webapp.billing.invoicing import new_invoice, store_invoice_document
from webapp.billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    Payment,
    PaymentMethod,
    ProviderName,
    Subscription,
    SubscriptionStatus,
)
from webapp.billing.periods import billing_timezone
from webapp.billing.rules import CREDIT_NOTE_REASON_MAX_LENGTH, PAYMENT_REFERENCE_MAX_LENGTH
from webapp.billing.scope import require_operator, visible_invoice
from webapp.billing.subscriptions import (
    lock_subscription,
    mark_in_good_standing,
    record_payment_failure,
    suspend_if_grace_is_over,
)
from webapp.db import now_utc
from webapp.extensions import db

# -- what is owed ----------------------------------------------------------------

# An invoice's status is derived from its payment and credit note rather than
# stored, so it can never disagree with them.
INVOICE_STATUSES = ("open", "paid", "credited", "issued")


def invoice_status(invoice: Invoice) -> str:
    """open, paid or credited for an invoice; issued for a credit note."""
    if invoice.kind is InvoiceKind.CREDIT_NOTE:
        return "issued"
    if invoice.payments:
        return "paid"
    if invoice.credit_note is not None:
        return "credited"
    return "open"


def open_invoices_condition():
    """Invoices (not credit notes) neither paid nor cancelled by a credit note."""
    credit = aliased(Invoice)
    return sa.and_(
        Invoice.kind == InvoiceKind.INVOICE,
        ~sa.exists().where(Payment.invoice_id == Invoice.id),
        ~sa.exists().where(credit.credit_of_id == Invoice.id),
    )


def oldest_open_invoice(subscription: Subscription) -> Invoice | None:
    """The subscription's oldest invoice neither paid nor credited."""
    return db.session.scalar(
        sa.select(Invoice).where(Invoice.subscription_id == subscription.id, open_invoices_condition())
        .order_by(Invoice.due_at, Invoice.id).limit(1)
    )


def overdue_amount_cents(subscription: Subscription, *, now: dt.datetime | None = None) -> int:
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Invoice.total_ttc_cents), 0))
        .where(Invoice.subscription_id == subscription.id, open_invoices_condition(),
               Invoice.due_at <= (now or now_utc()))
    )


# -- the grace period (the daily job) --------------------------------------------
# An overdue invoice makes its subscription past due; past due longer than
# CARNET_GRACE_DAYS, it is suspended and no longer bookable online.

def subscriptions_to_check_for_grace(now: dt.datetime) -> list[int]:
    """Subscriptions the grace-period job must look at: past due ones, manual
    ones with an overdue invoice, Stripe trials that ended without a card."""
    overdue = sa.exists().where(Invoice.subscription_id == Subscription.id, open_invoices_condition(),
                                Invoice.due_at <= now)
    trial_without_card = sa.and_(
        Subscription.provider == ProviderName.STRIPE, Subscription.stripe_subscription_id.is_(None),
        Subscription.status == SubscriptionStatus.TRIALING, Subscription.trial_ends_at <= now,
    )
    good_standing = Subscription.status.in_([SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE])
    return list(db.session.scalars(
        sa.select(Subscription.id).where(sa.or_(
            Subscription.status == SubscriptionStatus.PAST_DUE,
            sa.and_(good_standing, overdue),
            trial_without_card,
        )).order_by(Subscription.id)
    ))


def apply_grace_period_to(subscription_id: int, *, now: dt.datetime) -> None:
    """One unit of work of the grace-period job: an overdue invoice (or a
    Stripe trial ended without a card) makes the subscription past due;
    past due beyond the grace period suspends it."""
    subscription = lock_subscription(subscription_id)
    if subscription.status in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE):
        oldest_due = db.session.scalar(
            sa.select(sa.func.min(Invoice.due_at))
            .where(Invoice.subscription_id == subscription.id, open_invoices_condition(), Invoice.due_at <= now)
        )
        # A Stripe trial ended without a card has no invoice of ours to be
        # overdue: the trial's end counts as the due date.
        if oldest_due is None and subscription.provider is ProviderName.STRIPE \
                and subscription.stripe_subscription_id is None and subscription.trial_ends_at \
                and subscription.trial_ends_at <= now:
            oldest_due = subscription.trial_ends_at
        if oldest_due is not None:
            record_payment_failure(subscription, since=oldest_due)
    suspend_if_grace_is_over(subscription, now=now)


def _reactivate_if_settled(subscription: Subscription, *, now: dt.datetime) -> None:
    """A past-due or suspended subscription with nothing overdue left is active again."""
    if subscription.status not in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED):
        return
    if subscription.provider is ProviderName.STRIPE:
        return  # Stripe says when it is paid (invoice.paid)
    overdue = db.session.scalar(
        sa.select(sa.func.count(Invoice.id))
        .where(Invoice.subscription_id == subscription.id, open_invoices_condition(), Invoice.due_at <= now)
    )
    if not overdue:
        mark_in_good_standing(subscription)


# -- the operator's acts: payments received, credit notes ------------------------

def _operator_invoice(invoice_id: int, actor: User) -> Invoice:
    """An invoice (not a credit note) the operator acts on, its subscription
    locked first: two people acting on it at once are served one after the
    other, and the second sees what the first did."""
    invoice = visible_invoice(invoice_id, actor)
    require_operator(actor)
    lock_subscription(invoice.subscription_id)
    # Read again under the lock: whoever held it may have paid or credited it.
    db.session.expire(invoice, ["payments", "credit_note"])
    if invoice.kind is not InvoiceKind.INVOICE:
        raise NotAnInvoice()
    if invoice.credit_note is not None:
        raise InvoiceAlreadyCredited()
    return invoice


def _too_long(limit: int) -> str:
    return str(_l("Enter at most %(count)s characters.", count=limit))


def check_payment(*, method: PaymentMethod, paid_on: dt.date, reference: str, now: dt.datetime) -> None:
    """A payment the operator may record: a bank transfer or cheque, received
    by today, with its reference (pages check it before asking to confirm)."""
    if method not in (PaymentMethod.BANK_TRANSFER, PaymentMethod.CHEQUE):
        raise InvalidBillingData(fields={"method": [str(_l("Record a bank transfer or a cheque."))]})
    if paid_on > now.astimezone(billing_timezone()).date():
        raise InvalidBillingData(fields={"paid_on": [str(_l("The payment date is in the future."))]})
    if not reference.strip():
        raise InvalidBillingData(fields={"reference": [str(_l("Give the transfer or cheque reference."))]})
    if len(reference.strip()) > PAYMENT_REFERENCE_MAX_LENGTH:
        raise InvalidBillingData(fields={"reference": [_too_long(PAYMENT_REFERENCE_MAX_LENGTH)]})


def mark_invoice_paid(invoice_id: int, *, actor: User, method: PaymentMethod, paid_on: dt.date, reference: str,
                      now: dt.datetime | None = None) -> Payment:
    """The operator records a bank transfer or cheque for an open invoice
    (once); a past-due or suspended subscription with nothing else overdue
    becomes active again."""
    now = now or now_utc()
    check_payment(method=method, paid_on=paid_on, reference=reference, now=now)
    invoice = _operator_invoice(invoice_id, actor)
    if invoice.payments:
        raise InvoiceAlreadyPaid()
    # The whole amount: partial payments are not recorded (an invoice is paid or open).
    payment = Payment(invoice=invoice, method=method, amount_cents=invoice.total_ttc_cents, paid_on=paid_on,
                      reference=reference.strip(), recorded_by_id=actor.id, recorded_at=now)
    db.session.add(payment)
    db.session.flush()
    _reactivate_if_settled(invoice.subscription, now=now)
    return payment


def issue_credit_note(invoice_id: int, *, actor: User, reason: str, now: dt.datetime | None = None) -> Invoice:
    """The operator cancels an unpaid invoice, or refunds a paid one, with a
    credit note: it references the invoice, mirrors every line with negative
    amounts and takes the next number. One credit note per invoice."""
    if not reason.strip():
        raise InvalidBillingData(fields={"reason": [str(_l("Give the reason for the credit note."))]})
    if len(reason.strip()) > CREDIT_NOTE_REASON_MAX_LENGTH:
        raise InvalidBillingData(fields={"reason": [_too_long(CREDIT_NOTE_REASON_MAX_LENGTH)]})
    invoice = _operator_invoice(invoice_id, actor)
    now = now or now_utc()
    lines = [
        InvoiceLine(description=line.description, quantity=-line.quantity,
                    unit_price_ht_cents=line.unit_price_ht_cents, vat_rate_bp=line.vat_rate_bp,
                    total_ht_cents=-line.total_ht_cents, vat_cents=-line.vat_cents,
                    total_ttc_cents=-line.total_ttc_cents)
        for line in invoice.lines
    ]
    credit_note = new_invoice(invoice.subscription, kind=InvoiceKind.CREDIT_NOTE, lines=lines, issued_at=now,
                              due_at=now, credit_of=invoice, reason=reason.strip())
    store_invoice_document(credit_note)
    db.session.expire(invoice, ["credit_note"])  # loaded empty before: the caller sees the new one
    _reactivate_if_settled(invoice.subscription, now=now)
    return credit_note
