"""Stripe: outgoing calls against the local stand-in, webhooks signed as Stripe signs them."""

import datetime as dt
import json
import time

import pytest
import sqlalchemy as sa
import stripe

from tests.billing.conftest import STRIPE_WEBHOOK_SECRET
from tests.billing.factories import make_stripe_subscription, make_subscription
from webapp.billing import bookability, jobs
from webapp.billing.models import (
    Invoice,
    Payment,
    PaymentMethod,
    ProviderName,
    StripeEvent,
    Subscription,
    SubscriptionStatus,
)
from webapp.db import now_utc
from webapp.extensions import db

PERIOD_START = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
PERIOD_END = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def event(event_type: str, obj: dict, event_id: str | None = None, *, created: int | None = None) -> dict:
    return {"id": event_id or f"evt_{event_type.replace('.', '_')}_{time.monotonic_ns()}", "object": "event",
            "type": event_type, "api_version": "2025-06-30.basil", "created": created or int(time.time()),
            "data": {"object": obj}}


def post_webhook(client, body: dict | str, *, secret: str = STRIPE_WEBHOOK_SECRET, timestamp: int | None = None,
                 payload_override: str | None = None):
    payload = body if isinstance(body, str) else json.dumps(body)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp or int(time.time()))
    return client.post("/billing/stripe/webhook", data=payload_override or payload,
                       headers={"Stripe-Signature": header}, content_type="application/json")


def invoice_object(subscription: Subscription, *, amount: int = 10680, invoice_id: str = "in_test_1") -> dict:
    return {
        "id": invoice_id, "object": "invoice", "customer": subscription.stripe_customer_id,
        "parent": {"type": "subscription_details",
                   "subscription_details": {"subscription": subscription.stripe_subscription_id}},
        "amount_paid": amount, "currency": "eur",
        "lines": {"object": "list", "data": [{"period": {"start": int(PERIOD_START.timestamp()),
                                                          "end": int(PERIOD_END.timestamp())}}]},
        "status_transitions": {"paid_at": int(PERIOD_START.timestamp()) + 60},
    }


def state(subscription_id: int) -> tuple:
    db.session.expire_all()
    subscription = db.session.get(Subscription, subscription_id)
    invoices = db.session.scalar(sa.select(sa.func.count(Invoice.id)))
    events = db.session.scalar(sa.select(sa.func.count()).select_from(StripeEvent))
    return subscription.status, subscription.stripe_subscription_id, invoices, events


# -- outgoing calls ----------------------------------------------------------------

def test_checkout_creates_the_customer_once_then_a_subscription_session(stripe_server, client, api_token):
    subscription = make_subscription()
    headers = api_token(subscription.practitioner.user)
    response = client.post("/api/v1/billing/checkout", json={}, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["url"].startswith("https://checkout.stripe.test/c/pay/cs_test_")
    customer_call, = stripe_server.calls_to("/v1/customers")
    assert customer_call.form["email"] == subscription.practitioner.user.email
    assert customer_call.headers["Idempotency-Key"] == f"carnet-customer-{subscription.id}"
    session_call, = stripe_server.calls_to("/v1/checkout/sessions")
    assert session_call.form["mode"] == "subscription"
    assert session_call.form["line_items[0][price]"] == "price_test_practitioner"
    assert session_call.form["client_reference_id"] == str(subscription.id)
    assert session_call.form["customer"] == "cus_test_000001"
    assert session_call.form["success_url"] == "http://carnet.test/billing/subscription"
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).stripe_customer_id == "cus_test_000001"

    again = client.post("/api/v1/billing/checkout", json={"success_url": "https://carnet.test/merci"}, headers=headers)
    assert again.status_code == 200
    assert len(stripe_server.calls_to("/v1/customers")) == 1
    assert stripe_server.calls_to("/v1/checkout/sessions")[-1].form["success_url"] == "https://carnet.test/merci"


def test_checkout_during_a_trial_keeps_the_remaining_trial(stripe_server, client, api_token):
    subscription = make_subscription(now=now_utc())
    client.post("/api/v1/billing/checkout", json={}, headers=api_token(subscription.practitioner.user))
    form = stripe_server.calls_to("/v1/checkout/sessions")[0].form
    assert int(form["subscription_data[trial_end]"]) == int(subscription.trial_ends_at.timestamp())


def test_portal_session_for_a_stripe_customer(stripe_server, client, api_token):
    subscription = make_stripe_subscription()
    headers = api_token(subscription.practitioner.user)
    response = client.post("/api/v1/billing/portal", headers=headers)
    assert response.status_code == 200
    assert response.json["url"].startswith("https://billing.stripe.test/p/session/")
    call, = stripe_server.calls_to("/v1/billing_portal/sessions")
    assert call.form == {"customer": subscription.stripe_customer_id,
                         "return_url": "http://carnet.test/billing/subscription"}


def test_portal_without_a_customer_is_a_conflict(stripe_server, client, api_token):
    subscription = make_subscription()
    response = client.post("/api/v1/billing/portal", headers=api_token(subscription.practitioner.user))
    assert response.status_code == 409 and response.json["error"]["code"] == "no_payment_account"
    assert stripe_server.requests == []


def test_a_passing_stripe_hiccup_is_retried(stripe_server, client, api_token):
    subscription = make_subscription()
    stripe_server.fail_next = True
    response = client.post("/api/v1/billing/checkout", json={}, headers=api_token(subscription.practitioner.user))
    assert response.status_code == 200
    assert [call.path for call in stripe_server.requests][:2] == ["/v1/customers", "/v1/customers"]


def test_stripe_refusal_is_a_502_and_records_nothing(stripe_server, client, api_token):
    subscription = make_subscription()
    stripe_server.secret_key = "sk_rotated_elsewhere"
    response = client.post("/api/v1/billing/checkout", json={}, headers=api_token(subscription.practitioner.user))
    assert response.status_code == 502 and response.json["error"]["code"] == "payment_provider_unavailable"
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).stripe_customer_id is None


def test_checkout_with_the_manual_provider_is_refused(client, api_token):
    subscription = make_subscription()
    response = client.post("/api/v1/billing/checkout", json={}, headers=api_token(subscription.practitioner.user))
    assert response.status_code == 409 and response.json["error"]["code"] == "provider_not_supported"


def test_checkout_page_redirects_to_stripe(stripe_server, client, log_in, form_post):
    subscription = make_subscription()
    log_in(subscription.practitioner.user)
    response = form_post("/billing/subscription/checkout", {}, page="/billing/subscription")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://checkout.stripe.test/c/pay/")
    portal = form_post("/billing/subscription/portal", {}, page="/billing/subscription")
    assert portal.status_code == 303
    assert portal.headers["Location"].startswith("https://billing.stripe.test/")


# -- webhooks ------------------------------------------------------------------------

def test_checkout_completed_links_the_stripe_subscription(stripe_config, client):
    subscription = make_subscription()
    response = post_webhook(client, event("checkout.session.completed", {
        "id": "cs_test_1", "object": "checkout.session", "mode": "subscription",
        "client_reference_id": str(subscription.id), "customer": "cus_test_9", "subscription": "sub_test_9",
    }))
    assert response.status_code == 200 and response.json["applied"] is True
    db.session.expire_all()
    linked = db.session.get(Subscription, subscription.id)
    assert (linked.provider, linked.stripe_customer_id, linked.stripe_subscription_id) == (
        ProviderName.STRIPE, "cus_test_9", "sub_test_9")


def test_invoice_paid_issues_a_numbered_invoice_paid_by_card_and_reactivates(stripe_config, client):
    subscription = make_stripe_subscription(status=SubscriptionStatus.SUSPENDED)
    response = post_webhook(client, event("invoice.paid", invoice_object(subscription)))
    assert response.status_code == 200
    invoice = db.session.scalar(sa.select(Invoice))
    assert (invoice.number, invoice.total_ttc_cents, invoice.external_id) == ("2026-000001", 10680, "in_test_1")
    assert (invoice.period_start, invoice.period_end) == (PERIOD_START, PERIOD_END)
    payment = db.session.scalar(sa.select(Payment))
    assert payment.method is PaymentMethod.CARD and payment.reference == "in_test_1"
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.ACTIVE
    assert bookability.is_bookable(subscription.practitioner_id)


def test_zero_trial_invoice_issues_nothing(stripe_config, client):
    subscription = make_stripe_subscription(status=SubscriptionStatus.TRIALING)
    assert post_webhook(client, event("invoice.paid", invoice_object(subscription, amount=0))).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0


def test_payment_failed_then_grace_period_suspends(stripe_config, client):
    subscription = make_stripe_subscription()
    before = now_utc()
    assert post_webhook(client, event("invoice.payment_failed", invoice_object(subscription))).status_code == 200
    db.session.expire_all()
    failed = db.session.get(Subscription, subscription.id)
    assert failed.status is SubscriptionStatus.PAST_DUE and failed.past_due_since >= before
    jobs.apply_grace_period(now=failed.past_due_since + dt.timedelta(days=14))
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.SUSPENDED
    assert not bookability.is_bookable(subscription.practitioner_id)


def test_stripe_trial_ending_without_a_card_becomes_past_due(stripe_config):
    subscription = make_subscription(provider=ProviderName.STRIPE)
    jobs.issue_invoices(now=subscription.trial_ends_at + dt.timedelta(days=1))
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 0  # Stripe invoices, not the job
    jobs.apply_grace_period(now=subscription.trial_ends_at + dt.timedelta(days=1))
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.PAST_DUE


@pytest.mark.parametrize(("stripe_status", "cancel", "expected"), [
    ("active", True, SubscriptionStatus.ACTIVE),
    ("past_due", False, SubscriptionStatus.PAST_DUE),
    ("canceled", False, SubscriptionStatus.CANCELLED),
])
def test_subscription_updated_mirrors_stripe(stripe_config, client, stripe_status, cancel, expected):
    subscription = make_stripe_subscription()
    period_end = int(PERIOD_END.timestamp())
    response = post_webhook(client, event("customer.subscription.updated", {
        "id": subscription.stripe_subscription_id, "object": "subscription", "status": stripe_status,
        "cancel_at_period_end": cancel, "items": {"data": [{"current_period_end": period_end}]},
    }))
    assert response.status_code == 200
    db.session.expire_all()
    updated = db.session.get(Subscription, subscription.id)
    assert updated.status is expected and updated.cancel_at_period_end is cancel
    assert updated.current_period_end == PERIOD_END


def test_an_active_status_alone_does_not_lift_a_suspension(stripe_config, client):
    subscription = make_stripe_subscription(status=SubscriptionStatus.SUSPENDED)
    post_webhook(client, event("customer.subscription.updated", {
        "id": subscription.stripe_subscription_id, "status": "active", "cancel_at_period_end": False}))
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.SUSPENDED


def test_subscription_deleted_cancels(stripe_config, client):
    subscription = make_stripe_subscription()
    post_webhook(client, event("customer.subscription.deleted", {"id": subscription.stripe_subscription_id,
                                                                 "status": "canceled"}))
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.CANCELLED
    assert not bookability.is_bookable(subscription.practitioner_id)


def test_a_replayed_event_changes_nothing(stripe_config, client):
    subscription = make_stripe_subscription(status=SubscriptionStatus.PAST_DUE, past_due_since=PERIOD_START)
    paid = event("invoice.paid", invoice_object(subscription), event_id="evt_replayed")
    assert post_webhook(client, paid).json["applied"] is True
    after_first = state(subscription.id)
    # The practitioner falls behind again; a replay of the old "paid" must not reactivate them.
    failed = db.session.get(Subscription, subscription.id)
    failed.status, failed.past_due_since = SubscriptionStatus.PAST_DUE, PERIOD_END
    db.session.commit()
    replay = post_webhook(client, paid)
    assert replay.status_code == 200 and replay.json["applied"] is False
    assert state(subscription.id) == (SubscriptionStatus.PAST_DUE,) + after_first[1:]
    assert after_first[2:] == (1, 1)


def subscription_updated(subscription: Subscription, status: str, *, created: int) -> dict:
    return event("customer.subscription.updated", {
        "id": subscription.stripe_subscription_id, "object": "subscription", "status": status,
        "cancel_at_period_end": False}, created=created)


def test_a_late_past_due_update_does_not_undo_a_payment(stripe_config, client):
    subscription = make_stripe_subscription(status=SubscriptionStatus.PAST_DUE, past_due_since=PERIOD_START)
    created = int(PERIOD_START.timestamp()) + 3600
    paid = event("invoice.paid", invoice_object(subscription), created=created + 2)
    assert post_webhook(client, paid).json["applied"] is True
    late = post_webhook(client, subscription_updated(subscription, "past_due", created=created))
    assert late.status_code == 200 and late.json["applied"] is True  # acknowledged, so Stripe stops sending it
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.ACTIVE
    jobs.apply_grace_period(now=PERIOD_END)
    db.session.expire_all()
    assert bookability.is_bookable(subscription.practitioner_id)


def test_a_late_payment_is_recorded_without_lifting_a_newer_failure(stripe_config, client):
    subscription = make_stripe_subscription()
    created = int(PERIOD_START.timestamp()) + 3600
    post_webhook(client, event("invoice.payment_failed", invoice_object(subscription, invoice_id="in_next"),
                               created=created + 60))
    post_webhook(client, event("invoice.paid", invoice_object(subscription), created=created))
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.PAST_DUE
    assert db.session.scalar(sa.select(Payment.reference)) == "in_test_1"


def test_events_in_order_still_apply_each_in_turn(stripe_config, client):
    subscription = make_stripe_subscription()
    created = int(PERIOD_START.timestamp()) + 3600
    post_webhook(client, subscription_updated(subscription, "past_due", created=created))
    post_webhook(client, event("invoice.paid", invoice_object(subscription), created=created + 60))
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.ACTIVE
    post_webhook(client, subscription_updated(subscription, "past_due", created=created + 120))
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.PAST_DUE


def test_a_deletion_is_final_whenever_it_arrives(stripe_config, client):
    subscription = make_stripe_subscription()
    created = int(PERIOD_START.timestamp()) + 3600
    post_webhook(client, subscription_updated(subscription, "active", created=created + 60))
    post_webhook(client, event("customer.subscription.deleted", {"id": subscription.stripe_subscription_id,
                                                                 "status": "canceled"}, created=created))
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.CANCELLED


def test_same_stripe_invoice_in_a_new_event_is_not_invoiced_twice(stripe_config, client):
    subscription = make_stripe_subscription()
    post_webhook(client, event("invoice.paid", invoice_object(subscription)))
    post_webhook(client, event("invoice.paid", invoice_object(subscription)))
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1


def test_unknown_event_types_are_acknowledged_and_ignored(stripe_config, client):
    subscription = make_stripe_subscription()
    before = state(subscription.id)
    response = post_webhook(client, event("customer.created", {"id": "cus_new", "object": "customer"}))
    assert response.status_code == 200 and response.json["applied"] is False
    assert state(subscription.id) == before


def test_events_for_unknown_subscriptions_are_acknowledged(stripe_config, client):
    subscription = make_stripe_subscription()
    before = state(subscription.id)
    response = post_webhook(client, event("invoice.payment_failed", {"id": "in_x", "customer": "cus_unknown"}))
    assert response.status_code == 200 and response.json["applied"] is True
    assert state(subscription.id) == before[:3] + (1,)


@pytest.mark.parametrize("tamper", ["wrong_secret", "changed_body", "too_old", "missing_header", "garbage_header"])
def test_bad_signature_is_refused_and_changes_nothing(stripe_config, client, tamper):
    subscription = make_stripe_subscription()
    before = state(subscription.id)
    body = event("customer.subscription.deleted", {"id": subscription.stripe_subscription_id})
    payload = json.dumps(body)
    if tamper == "wrong_secret":
        response = post_webhook(client, body, secret="whsec_not_ours")
    elif tamper == "changed_body":
        response = post_webhook(client, body, payload_override=payload.replace("deleted", "updated"))
    elif tamper == "too_old":
        response = post_webhook(client, body, timestamp=int(time.time()) - 301)
    else:
        headers = {} if tamper == "missing_header" else {"Stripe-Signature": "t=1,v1=abc"}
        response = client.post("/billing/stripe/webhook", data=payload, headers=headers,
                               content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_signature"
    assert state(subscription.id) == before


def test_webhook_without_a_configured_secret_refuses_everything(client):
    response = post_webhook(client, event("customer.subscription.deleted", {"id": "sub_x"}))
    assert response.status_code == 400


def test_signed_but_malformed_payloads_are_refused_without_error(stripe_config, client):
    for payload in ("not json", "[1, 2]", json.dumps({"type": "invoice.paid"})):
        assert post_webhook(client, payload).status_code == 400
    weird = post_webhook(client, event("invoice.paid", {"id": 12, "lines": "nope"}))
    assert weird.status_code == 200
