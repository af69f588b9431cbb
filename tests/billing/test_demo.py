"""The demo world has billing content for the back office."""

import sqlalchemy as sa

from webapp.billing import payments
from webapp.billing.models import Invoice, Subscription, SubscriptionStatus
from webapp.extensions import db


def test_demo_seed_has_subscriptions_in_every_useful_state_and_invoices(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    counts = dict(db.session.execute(
        sa.select(Subscription.status, sa.func.count(Subscription.id)).group_by(Subscription.status)).all())
    # Trialing: one demo practitioner, and the two applicants awaiting verification.
    assert counts == {SubscriptionStatus.ACTIVE: 18, SubscriptionStatus.PAST_DUE: 1, SubscriptionStatus.TRIALING: 3}
    statuses = sorted(payments.invoice_status(invoice) for invoice in db.session.scalars(sa.select(Invoice)))
    assert statuses == ["open", "open", "paid"]
    past_due = db.session.scalar(sa.select(Subscription).where(Subscription.status == SubscriptionStatus.PAST_DUE))
    assert payments.overdue_amount_cents(past_due) == 10680
