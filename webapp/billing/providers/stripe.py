"""The Stripe provider: Checkout in subscription mode, the customer portal,
and the webhook events that drive the subscription state.

Outgoing calls use the official library (`StripeClient`), pointed at
`STRIPE_API_BASE` when set. Webhooks are verified on the raw body with
`STRIPE_WEBHOOK_SECRET`; each event id is stored once, so a replay is a no-op.
"""

import datetime as dt
import json
import logging

import sqlalchemy as sa
import stripe
from flask import current_app

from webapp.billing import stripe_sync, subscriptions
from webapp.billing.errors import InvalidWebhookSignature, PaymentProviderUnavailable, ProviderNotSupported
from webapp.billing.models import ProviderName, StripeEvent, Subscription
from webapp.billing.providers import CheckoutRequest
from webapp.db import now_utc
from webapp.extensions import db

log = logging.getLogger(__name__)

# Stripe refuses a trial that ends sooner than this after the checkout.
MIN_TRIAL_LEFT = dt.timedelta(days=2)


def _client() -> stripe.StripeClient:
    config = current_app.config
    if not config["STRIPE_SECRET_KEY"]:
        raise ProviderNotSupported()
    base = config["STRIPE_API_BASE"]
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"], base_addresses={"api": base} if base else None, max_network_retries=2,
    )


class StripeProvider:
    name = ProviderName.STRIPE
    invoices_by_job = False

    def create_customer(self, request: CheckoutRequest) -> str:
        customer = _call(lambda client: client.v1.customers.create(
            params={"email": request.email, "name": request.name,
                    "metadata": {"carnet_subscription_id": str(request.subscription_id)}},
            # The same subscription never gets two customers, even on a retry.
            options={"idempotency_key": f"carnet-customer-{request.subscription_id}"},
        ))
        return customer.id

    def checkout_url(self, request: CheckoutRequest) -> str:
        params = {
            "mode": "subscription",
            "customer": request.customer_id,
            "client_reference_id": str(request.subscription_id),
            "line_items": [{"price": request.price_id, "quantity": request.quantity}],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "metadata": {"carnet_subscription_id": str(request.subscription_id)},
        }
        if request.trial_end and request.trial_end - now_utc() > MIN_TRIAL_LEFT:
            params["subscription_data"] = {"trial_end": int(request.trial_end.timestamp())}
        session = _call(lambda client: client.v1.checkout.sessions.create(params=params))
        return session.url

    def portal_url(self, customer_id: str, return_url: str) -> str:
        session = _call(lambda client: client.v1.billing_portal.sessions.create(
            params={"customer": customer_id, "return_url": return_url},
        ))
        return session.url


def _call(request):
    try:
        return request(_client())
    except stripe.StripeError as error:
        log.warning("Stripe call failed: %s", error)
        raise PaymentProviderUnavailable() from None


# -- webhooks ------------------------------------------------------------------

def verified_event(payload: bytes, signature_header: str | None) -> dict:
    """The event of a webhook request whose `Stripe-Signature` matches the raw
    body (and is recent); anything else is refused."""
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    if not secret or not signature_header:
        raise InvalidWebhookSignature()
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature_header, secret,
                                              stripe.Webhook.DEFAULT_TOLERANCE)
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
        raise InvalidWebhookSignature() from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise InvalidWebhookSignature()
    return event


def _timestamp(value) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value, dt.UTC) if isinstance(value, int) else None


def _invoice_subscription_id(invoice: dict) -> str | None:
    # Older API versions put it at the top; newer ones under `parent`.
    parent = (invoice.get("parent") or {}).get("subscription_details") or {}
    return invoice.get("subscription") or parent.get("subscription")


def _subscription_period_end(subscription: dict) -> dt.datetime | None:
    items = ((subscription.get("items") or {}).get("data")) or [{}]
    return _timestamp(subscription.get("current_period_end")) or _timestamp(items[0].get("current_period_end"))


def _is_stale(subscription: Subscription, created_at: dt.datetime | None) -> bool:
    """Whether an event is older than the newest one already applied to the
    subscription's state (Stripe does not deliver events in order)."""
    applied = subscription.stripe_state_at
    return created_at is not None and applied is not None and created_at < applied


def _applied(subscription: Subscription, created_at: dt.datetime | None) -> None:
    if created_at is not None:
        subscription.stripe_state_at = created_at


def _on_checkout_completed(session: dict, now: dt.datetime, created_at: dt.datetime | None) -> None:
    reference = session.get("client_reference_id")
    if session.get("mode") != "subscription" or not str(reference or "").isdigit():
        return
    subscription = stripe_sync.subscription_for_stripe(subscription_id=int(reference))
    if subscription is None or not session.get("customer") or not session.get("subscription"):
        return
    stripe_sync.link_stripe_subscription(subscription, customer_id=session["customer"],
                                         stripe_subscription_id=session["subscription"])


def _on_invoice_paid(invoice: dict, now: dt.datetime, created_at: dt.datetime | None) -> None:
    subscription = stripe_sync.subscription_for_stripe(stripe_subscription_id=_invoice_subscription_id(invoice),
                                                       customer_id=invoice.get("customer"))
    if subscription is None:
        return
    lines = (invoice.get("lines") or {}).get("data") or [{}]
    period = lines[0].get("period") or {}
    start, end = _timestamp(period.get("start")), _timestamp(period.get("end"))
    if not invoice.get("amount_paid") or not isinstance(invoice.get("id"), str) or start is None or end is None:
        # A trial's zero invoice: nothing was collected.
        return
    paid_at = _timestamp((invoice.get("status_transitions") or {}).get("paid_at")) or now
    # A payment is a fact whenever it arrives; only the newest event sets the standing.
    is_latest = not _is_stale(subscription, created_at)
    stripe_sync.record_stripe_payment(subscription, stripe_invoice_id=invoice["id"], period_start=start,
                                      period_end=end, paid_at=paid_at, now=now, sets_standing=is_latest)
    if is_latest:
        _applied(subscription, created_at)


def _on_invoice_payment_failed(invoice: dict, now: dt.datetime, created_at: dt.datetime | None) -> None:
    subscription = stripe_sync.subscription_for_stripe(stripe_subscription_id=_invoice_subscription_id(invoice),
                                                       customer_id=invoice.get("customer"))
    if subscription is not None and not _is_stale(subscription, created_at):
        subscriptions.record_payment_failure(subscription, since=now)
        _applied(subscription, created_at)


def _on_subscription_updated(stripe_subscription: dict, now: dt.datetime, created_at: dt.datetime | None) -> None:
    subscription = stripe_sync.subscription_for_stripe(stripe_subscription_id=stripe_subscription.get("id"))
    if subscription is not None and not _is_stale(subscription, created_at):
        stripe_sync.apply_stripe_subscription_state(
            subscription, status=str(stripe_subscription.get("status")),
            cancel_at_period_end=bool(stripe_subscription.get("cancel_at_period_end")),
            period_end=_subscription_period_end(stripe_subscription), now=now,
        )
        _applied(subscription, created_at)


def _on_subscription_deleted(stripe_subscription: dict, now: dt.datetime, created_at: dt.datetime | None) -> None:
    # Final whenever it arrives: Stripe never brings a deleted subscription back.
    subscription = stripe_sync.subscription_for_stripe(stripe_subscription_id=stripe_subscription.get("id"))
    if subscription is not None:
        subscriptions.cancel_now(subscription, now=now)
        _applied(subscription, created_at)


HANDLERS = {
    "checkout.session.completed": _on_checkout_completed,
    "invoice.paid": _on_invoice_paid,
    "invoice.payment_failed": _on_invoice_payment_failed,
    "customer.subscription.updated": _on_subscription_updated,
    "customer.subscription.deleted": _on_subscription_deleted,
}


def is_processed(event_id: str) -> bool:
    return db.session.scalar(sa.select(StripeEvent.id).where(StripeEvent.id == event_id)) is not None


def handle_event(event: dict, *, now: dt.datetime | None = None) -> bool:
    """Apply a verified event once. Returns False for a replay or an event
    type Carnet does not use (both acknowledged, nothing changed).

    The event id is inserted first: a concurrent delivery of the same event
    fails on the unique key and its transaction rolls back whole.
    """
    handler = HANDLERS.get(event["type"])
    if handler is None:
        return False
    if is_processed(event["id"]):
        return False
    db.session.add(StripeEvent(id=event["id"], type=event["type"]))
    db.session.flush()
    obj = (event.get("data") or {}).get("object")
    if isinstance(obj, dict):
        handler(obj, now or now_utc(), _timestamp(event.get("created")))
    return True
