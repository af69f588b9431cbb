"""Billing's messages: payment failed and suspension, queued with the billing change and sent by SMTP."""

import datetime as dt

import pytest

from tests import factories
from tests.billing.factories import START, make_active_subscription, make_stripe_subscription
from tests.notifications.factories import outbox
from webapp.accounts.models import Role
from webapp.billing import backoffice, jobs, payments, subscriptions
from webapp.billing.models import SubscriptionStatus
from webapp.extensions import db
from webapp.notifications.models import Category
from webapp.notifications.sender import send_due_notifications
from webapp.notifications.services import open_email
from webapp.transaction import transaction


def test_an_overdue_invoice_tells_the_practitioner_then_the_suspension(app, smtp):
    subscription = make_active_subscription(now=START)
    user = subscription.practitioner.user
    invoice = payments.oldest_open_invoice(subscription)
    overdue = invoice.due_at + dt.timedelta(days=1)

    jobs.apply_grace_period(overdue)

    [failed] = outbox(category=Category.BILLING)
    assert failed.user_id == user.id
    send_due_notifications()
    [message] = smtp.messages
    assert message["To"] == user.email
    assert message["Subject"] == f"Échec du paiement de la facture {invoice.number}"
    text = message.get_body(("plain",)).get_content()
    assert "106,80" in text and "http://carnet.test/billing/subscription" in text

    grace_over = invoice.due_at + dt.timedelta(days=app.config["CARNET_GRACE_DAYS"] + 1)
    jobs.apply_grace_period(grace_over)
    db.session.expire_all()
    assert db.session.get(type(subscription), subscription.id).status is SubscriptionStatus.SUSPENDED
    send_due_notifications()
    first, suspended = smtp.messages
    assert suspended["Subject"] == "La prise de rendez-vous en ligne est suspendue"
    # Running the job again changes nothing and sends nothing more.
    jobs.apply_grace_period(grace_over)
    assert len(outbox(category=Category.BILLING)) == 2


def test_a_stripe_failure_without_a_local_invoice_names_the_subscription(app):
    subscription = make_stripe_subscription()
    with transaction():
        subscriptions.record_payment_failure(subscription, since=START)
    [row] = outbox(category=Category.BILLING)
    content = open_email(row)
    assert content.subject == "Échec du paiement de votre abonnement Carnet"
    assert "106,80" in content.text


def test_a_clinic_hears_at_its_billing_email(app):
    clinic = factories.make_clinic(billing_email="compta@centre.example")
    factories.make_practitioner(clinic=clinic)
    admin = factories.make_staff(role=Role.ADMIN)
    with transaction():
        subscription = backoffice.subscribe_clinic(clinic.id, actor=admin, now=START)
        subscriptions.record_payment_failure(subscription, since=START)
    [row] = outbox(category=Category.BILLING)
    assert open_email(row).to == "compta@centre.example" and row.user_id is None


def test_a_rolled_back_failure_leaves_no_message(app):
    subscription = make_stripe_subscription()
    with pytest.raises(RuntimeError), transaction():
        subscriptions.record_payment_failure(subscription, since=START)
        raise RuntimeError("the webhook failed afterwards")
    assert outbox() == []
