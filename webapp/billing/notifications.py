"""Billing's messages: receivers of `webapp.billing.signals` that queue them in the billing unit of work.

The subscriber hears it: the practitioner's account, or for a clinic its
billing address (else its accountants).
"""

import dataclasses
import datetime as dt

import sqlalchemy as sa
from flask import current_app

from webapp.accounts.models import ClinicMember, ClinicRole, User
from webapp.billing import signals
from webapp.billing.models import Subscription
from webapp.billing.money import line_amounts
from webapp.billing.payments import oldest_open_invoice
from webapp.billing.periods import billing_timezone
from webapp.billing.subscriptions import subscription_quantity
from webapp.extensions import db
from webapp.notifications import messages
from webapp.urls import external_url


@dataclasses.dataclass(frozen=True)
class Recipient:
    email: str
    locale: str | None
    user_id: int | None


def subscriber_recipients(subscription: Subscription) -> list[Recipient]:
    """The practitioner's account; for a clinic, its billing email, else its accountants."""
    if subscription.practitioner is not None:
        user = subscription.practitioner.user
        return [Recipient(user.email, user.locale, user.id)]
    clinic = subscription.clinic
    if clinic.billing_email:
        return [Recipient(clinic.billing_email, None, None)]
    accountants = db.session.scalars(
        sa.select(User).join(ClinicMember, ClinicMember.user_id == User.id)
        .where(ClinicMember.clinic_id == clinic.id, ClinicMember.clinic_role == ClinicRole.ACCOUNTANT)
        .order_by(User.id)
    )
    return [Recipient(user.email, user.locale, user.id) for user in accountants]


def _billing_url(subscription: Subscription) -> str:
    if subscription.practitioner is not None:
        return external_url("billing.subscription")
    return external_url("billing.backoffice_dashboard")


def _recipient_key(recipient: Recipient) -> str:
    return f"user-{recipient.user_id}" if recipient.user_id is not None else "billing-email"


def on_payment_failed(sender, *, subscription: Subscription, **extra) -> None:
    """Tell the subscriber what is unpaid and until when online booking stays open.

    The oldest open invoice is the one named; a card payment that failed
    before any invoice was issued here (Stripe) names the period's amount."""
    invoice = oldest_open_invoice(subscription)
    if invoice is not None:
        number, amount_cents, currency = invoice.number, invoice.total_ttc_cents, invoice.currency
    else:
        plan = subscription.plan
        number, currency = None, plan.currency
        amount_cents = line_amounts(plan.price_cents, subscription_quantity(subscription),
                                    plan.vat_rate_bp).total_ttc_cents
    since = subscription.past_due_since
    grace_ends_at = since + dt.timedelta(days=current_app.config["CARNET_GRACE_DAYS"]) if since else None
    for recipient in subscriber_recipients(subscription):
        messages.notify_payment_failed(
            key=f"payment-failed:{subscription.id}:{since.isoformat() if since else 'now'}:{_recipient_key(recipient)}",
            to=recipient.email, locale=recipient.locale, invoice_number=number, amount_cents=amount_cents,
            currency=currency, billing_url=_billing_url(subscription), grace_ends_at=grace_ends_at,
            timezone=billing_timezone().key, user_id=recipient.user_id,
        )


def on_subscription_suspended(sender, *, subscription: Subscription, **extra) -> None:
    """Tell the subscriber online booking stopped until the subscription is paid."""
    suspended_on = subscription.suspended_at.astimezone(billing_timezone()).date().isoformat()
    for recipient in subscriber_recipients(subscription):
        messages.notify_subscription_suspended(
            key=f"subscription-suspended:{subscription.id}:{suspended_on}:{_recipient_key(recipient)}",
            to=recipient.email, locale=recipient.locale, billing_url=_billing_url(subscription),
            user_id=recipient.user_id,
        )


def connect_billing_notifications() -> None:
    """Connect the receivers (at app creation; connecting twice is harmless)."""
    signals.payment_failed.connect(on_payment_failed)
    signals.subscription_suspended.connect(on_subscription_suspended)
