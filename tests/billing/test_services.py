"""Billing rules: trial at sign-up, bookability, lifecycle by time, invoices, payments, credit notes."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.billing.factories import START, make_active_subscription, make_invoice, make_subscription
from webapp.accounts.models import ClinicRole, PractitionerProfile, Role
from webapp.billing import backoffice, bookability, invoicing, jobs, metrics, payments, scope, subscriptions
from webapp.billing.errors import (
    ClinicAlreadySubscribed,
    InvalidBillingData,
    InvoiceAlreadyCredited,
    InvoiceAlreadyPaid,
    InvoiceNotFound,
    NotAnInvoice,
    SubscriptionNotActive,
)
from webapp.billing.models import (
    Invoice,
    InvoiceImmutable,
    InvoiceKind,
    InvoiceLine,
    Payment,
    PaymentMethod,
    Plan,
    ProviderName,
    Subscription,
    SubscriptionStatus,
)
from webapp.billing.plans import list_plans
from webapp.billing.rules import CREDIT_NOTE_REASON_MAX_LENGTH, PAYMENT_REFERENCE_MAX_LENGTH
from webapp.billing.signals import payment_failed, subscription_suspended
from webapp.errors import Forbidden
from webapp.extensions import db
from webapp.transaction import transaction

DAY = dt.timedelta(days=1)


def bookable_ids() -> set[int]:
    """The search-style query booking runs: one SELECT for every practitioner."""
    return set(db.session.scalars(
        sa.select(PractitionerProfile.id).where(bookability.bookable_condition(PractitionerProfile.id))
    ))


@pytest.fixture
def received():
    """What the billing signals sent, by signal name."""
    seen = {"payment_failed": [], "subscription_suspended": []}

    def on_failed(sender, subscription):
        seen["payment_failed"].append(subscription.id)

    def on_suspended(sender, subscription):
        seen["subscription_suspended"].append(subscription.id)

    payment_failed.connect(on_failed)
    subscription_suspended.connect(on_suspended)
    yield seen
    payment_failed.disconnect(on_failed)
    subscription_suspended.disconnect(on_suspended)


# -- plans and trial -------------------------------------------------------------

def test_plans_are_seeded_from_configuration(app, monkeypatch):
    plans = {plan.code: plan for plan in list_plans()}
    assert (plans["practitioner"].price_cents, plans["practitioner"].vat_rate_bp) == (8900, 2000)
    assert plans["clinic"].per_practitioner is True
    monkeypatch.setitem(app.config, "CARNET_PLAN_PRACTITIONER_CENTS", 9900)
    list_plans()
    db.session.commit()
    assert db.session.scalar(sa.select(Plan.price_cents).where(Plan.code == "practitioner")) == 9900
    assert db.session.scalar(sa.select(sa.func.count(Plan.id))) == 2


def test_signing_up_as_practitioner_starts_a_30_day_trial(client):
    response = client.post("/api/v1/accounts", json={
        "role": "practitioner", "email": "claire@example.com", "password": "une-phrase-2026",
        "first_name": "Claire", "last_name": "Martin", "rpps": "99700218896", "specialty": "dermatologist",
        "address": "1 rue X", "postcode": "75011", "city": "Paris",
    })
    assert response.status_code == 201
    subscription = subscriptions.subscription_of_practitioner(response.json["practitioner_id"])
    assert subscription.status is SubscriptionStatus.TRIALING
    assert subscription.provider is ProviderName.MANUAL
    assert subscription.trial_ends_at - subscription.created_at == dt.timedelta(days=30)
    assert bookability.is_bookable(response.json["practitioner_id"])


def test_failed_sign_up_leaves_no_subscription(client):
    factories.make_practitioner(rpps="99700218896")
    response = client.post("/api/v1/accounts", json={
        "role": "practitioner", "email": "other@example.com", "password": "une-phrase-2026",
        "first_name": "Claire", "last_name": "Martin", "rpps": "99700218896", "specialty": "dermatologist",
        "address": "1 rue X", "postcode": "75011", "city": "Paris",
    })
    assert response.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 0


def test_a_practitioner_has_one_subscription():
    practitioner = factories.make_practitioner()
    first = subscriptions.start_trial(practitioner, now=START)
    assert subscriptions.start_trial(practitioner, now=START + DAY) is first
    db.session.add(Subscription(practitioner=practitioner, plan=first.plan, provider=ProviderName.MANUAL,
                                status=SubscriptionStatus.ACTIVE, current_period_start=START,
                                current_period_end=START))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()


# -- bookability -----------------------------------------------------------------

def test_bookability_by_subscription_status():
    without = factories.make_practitioner()
    trialing = make_subscription().practitioner
    past_due = make_subscription(status=SubscriptionStatus.PAST_DUE, past_due_since=START).practitioner
    suspended = make_subscription(status=SubscriptionStatus.SUSPENDED).practitioner
    cancelled = make_subscription(status=SubscriptionStatus.CANCELLED).practitioner
    assert bookable_ids() == {without.id, trialing.id, past_due.id}
    assert bookability.is_bookable(without.id) and bookability.is_bookable(past_due.id)
    assert not bookability.is_bookable(suspended.id) and not bookability.is_bookable(cancelled.id)


def test_clinic_subscription_covers_its_practitioners():
    clinic, other_clinic = factories.make_clinic(), factories.make_clinic()
    member = factories.make_practitioner(clinic=clinic)
    make_subscription(member, status=SubscriptionStatus.CANCELLED)
    colleague = factories.make_practitioner(clinic=clinic)
    elsewhere = factories.make_practitioner(clinic=other_clinic)
    alone = factories.make_practitioner()
    admin = factories.make_staff(role=Role.ADMIN)
    clinic_subscription = backoffice.subscribe_clinic(clinic.id, actor=admin, now=START)
    backoffice.subscribe_clinic(other_clinic.id, actor=admin, now=START).status = SubscriptionStatus.SUSPENDED
    db.session.commit()
    assert bookable_ids() == {member.id, colleague.id, alone.id}
    assert bookability.is_bookable(member.id) and not bookability.is_bookable(elsewhere.id)
    clinic_subscription.status = SubscriptionStatus.SUSPENDED
    db.session.commit()
    assert bookable_ids() == {alone.id}
    assert not bookability.is_bookable(member.id)


def test_clinic_plan_is_invoiced_per_practitioner_and_ends_member_subscriptions():
    clinic = factories.make_clinic(siret="12345678900011")
    members = [factories.make_practitioner(clinic=clinic) for _ in range(3)]
    own = make_subscription(members[0])
    admin = factories.make_staff(role=Role.ADMIN)
    subscription = backoffice.subscribe_clinic(clinic.id, actor=admin, now=START)
    db.session.commit()
    assert own.status is SubscriptionStatus.CANCELLED
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.subscription_id == subscription.id))
    assert (invoice.lines[0].quantity, invoice.total_ht_cents, invoice.vat_cents) == (3, 3 * 7900, 4740)
    assert invoice.buyer_name == clinic.name and invoice.buyer_identifier == "SIRET 12345678900011"
    with pytest.raises(ClinicAlreadySubscribed):
        backoffice.subscribe_clinic(clinic.id, actor=admin, now=START)
    with pytest.raises(Forbidden):
        backoffice.subscribe_clinic(factories.make_clinic().id,
                                  actor=factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT))
    with pytest.raises(InvalidBillingData):
        backoffice.subscribe_clinic(999999, actor=admin)


# -- lifecycle by time (manual provider) -----------------------------------------

def test_trial_end_issues_the_first_invoice_and_activates():
    subscription = make_subscription(now=START)
    assert jobs.issue_invoices(now=START + 29 * DAY) == 0
    assert jobs.issue_invoices(now=START + 30 * DAY) == 1
    db.session.refresh(subscription)
    assert subscription.status is SubscriptionStatus.ACTIVE
    invoice = db.session.scalar(sa.select(Invoice))
    assert invoice.period_start == START + 30 * DAY
    assert invoice.period_end == dt.datetime(2026, 3, 9, 9, 0, tzinfo=dt.UTC)
    assert (invoice.total_ht_cents, invoice.vat_cents, invoice.total_ttc_cents) == (8900, 1780, 10680)
    assert invoice.due_at == invoice.issued_at + 30 * DAY
    assert "Praticien" in invoice.lines[0].description
    assert jobs.issue_invoices(now=START + 30 * DAY) == 0  # idempotent


def test_missed_months_are_caught_up_one_invoice_each():
    make_subscription(now=START)
    assert jobs.issue_invoices(now=START + 30 * DAY + 65 * DAY) == 3
    periods = db.session.scalars(sa.select(Invoice.period_start).order_by(Invoice.seq)).all()
    assert [period.date() for period in periods] == [dt.date(2026, 2, 9), dt.date(2026, 3, 9), dt.date(2026, 4, 9)]


def test_unpaid_invoice_makes_past_due_then_suspends_after_grace_then_payment_reactivates(received):
    subscription = make_active_subscription(now=START)
    invoice = db.session.scalar(sa.select(Invoice))
    due = invoice.due_at
    jobs.apply_grace_period(now=due - DAY)
    db.session.refresh(subscription)
    assert subscription.status is SubscriptionStatus.ACTIVE
    jobs.apply_grace_period(now=due)
    db.session.refresh(subscription)
    assert subscription.status is SubscriptionStatus.PAST_DUE and subscription.past_due_since == due
    assert received["payment_failed"] == [subscription.id]
    assert bookability.is_bookable(subscription.practitioner_id)
    jobs.apply_grace_period(now=due + 14 * DAY - dt.timedelta(seconds=1))
    db.session.refresh(subscription)
    assert subscription.status is SubscriptionStatus.PAST_DUE
    jobs.apply_grace_period(now=due + 14 * DAY)
    db.session.refresh(subscription)
    assert subscription.status is SubscriptionStatus.SUSPENDED
    assert received["subscription_suspended"] == [subscription.id]
    assert not bookability.is_bookable(subscription.practitioner_id)
    jobs.apply_grace_period(now=due + 20 * DAY)  # nothing more happens
    assert received == {"payment_failed": [subscription.id], "subscription_suspended": [subscription.id]}

    admin = factories.make_staff(role=Role.ADMIN)
    with transaction():
        payments.mark_invoice_paid(invoice.id, actor=admin, method=PaymentMethod.BANK_TRANSFER,
                                   paid_on=(due + 20 * DAY).date(), reference="VIR 2026-000001",
                                   now=due + 20 * DAY)
    db.session.refresh(subscription)
    assert subscription.status is SubscriptionStatus.ACTIVE
    assert subscription.past_due_since is None and subscription.suspended_at is None
    assert bookability.is_bookable(subscription.practitioner_id)


def test_paying_one_of_two_overdue_invoices_keeps_the_suspension():
    subscription = make_active_subscription(now=START)
    first = db.session.scalar(sa.select(Invoice))
    second = make_invoice(subscription, now=START + 31 * DAY)
    late = second.due_at + 15 * DAY
    jobs.apply_grace_period(now=late)
    jobs.apply_grace_period(now=late)
    db.session.refresh(subscription)
    assert subscription.status is SubscriptionStatus.SUSPENDED
    admin = factories.make_staff(role=Role.ADMIN)
    with transaction():
        payments.mark_invoice_paid(first.id, actor=admin, method=PaymentMethod.CHEQUE, paid_on=late.date(),
                                   reference="CHQ 1234567", now=late)
    db.session.refresh(subscription)
    assert subscription.status is SubscriptionStatus.SUSPENDED
    with transaction():
        payments.issue_credit_note(second.id, actor=admin, reason="Geste commercial", now=late)
    db.session.refresh(subscription)
    assert subscription.status is SubscriptionStatus.ACTIVE


def test_cancellation_takes_effect_at_period_end():
    subscription = make_active_subscription(now=START)
    user = subscription.practitioner.user
    with transaction():
        subscriptions.request_cancellation(user)
    period_end = subscription.current_period_end
    assert jobs.issue_invoices(now=period_end - DAY) == 0
    db.session.refresh(subscription)
    assert subscription.status is SubscriptionStatus.ACTIVE
    assert jobs.issue_invoices(now=period_end) == 0
    db.session.refresh(subscription)
    assert subscription.status is SubscriptionStatus.CANCELLED and subscription.cancelled_at == period_end
    assert not bookability.is_bookable(subscription.practitioner_id)
    with pytest.raises(SubscriptionNotActive):
        subscriptions.request_cancellation(user)


def test_cancellation_can_be_withdrawn_before_the_end():
    subscription = make_active_subscription(now=START)
    user = subscription.practitioner.user
    with pytest.raises(SubscriptionNotActive):
        subscriptions.undo_cancellation(user)
    with transaction():
        subscriptions.request_cancellation(user)
    with transaction():
        subscriptions.undo_cancellation(user)
    assert jobs.issue_invoices(now=subscription.current_period_end) == 1


# -- invoices --------------------------------------------------------------------

def test_invoice_numbers_follow_one_sequence_per_year():
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    december = dt.datetime(2026, 12, 31, 12, 0, tzinfo=dt.UTC)
    numbers = [make_invoice(subscription, now=december).number for _ in range(3)]
    assert numbers == ["2026-000001", "2026-000002", "2026-000003"]
    # 31 December 23:30 UTC is already 1 January in Paris: the new year's sequence.
    new_year = make_invoice(subscription, now=dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC))
    assert new_year.number == "2027-000001"


def test_a_rolled_back_invoice_gives_its_number_back():
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    make_invoice(subscription)
    with pytest.raises(RuntimeError):
        with transaction():
            invoicing.issue_period_invoice(subscription, period_start=START + 300 * DAY,
                                          period_end=START + 330 * DAY, now=START)
            raise RuntimeError("the request failed after issuing")
    assert make_invoice(subscription).number == "2026-000002"


def test_invoice_holds_seller_buyer_and_amounts(app):
    practitioner = factories.make_practitioner(first_name="Claire", last_name="Martin", rpps=factories.valid_rpps(4242))
    invoice = make_invoice(make_subscription(practitioner, status=SubscriptionStatus.ACTIVE))
    assert invoice.seller_name == app.config["CARNET_SELLER_NAME"]
    assert invoice.seller_vat_number == app.config["CARNET_SELLER_VAT_NUMBER"]
    assert invoice.buyer_name == "Claire Martin"
    assert invoice.buyer_identifier == f"RPPS {practitioner.rpps}"
    assert "75011 Paris" in invoice.buyer_address
    assert [(line.vat_rate_bp, line.vat_cents) for line in invoice.lines] == [(2000, 1780)]


def test_issued_invoices_cannot_be_changed_or_deleted():
    invoice = make_invoice()
    invoice.total_ht_cents = 1
    with pytest.raises(InvoiceImmutable):
        db.session.flush()
    db.session.rollback()
    invoice.lines[0].description = "autre chose"
    with pytest.raises(InvoiceImmutable):
        db.session.flush()
    db.session.rollback()
    db.session.delete(invoice)
    with pytest.raises(InvoiceImmutable):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("table", ["billing_invoices", "billing_invoice_lines"])
def test_the_database_refuses_updates_to_issued_invoices(table):
    make_invoice()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text(f"UPDATE {table} SET total_ht_cents = 1"))
    db.session.rollback()
    assert db.session.scalar(sa.select(Invoice.total_ht_cents)) == 8900


def test_credit_note_references_its_invoice_and_takes_the_next_number():
    invoice = make_invoice()
    admin = factories.make_staff(role=Role.ADMIN)
    with transaction():
        credit = payments.issue_credit_note(invoice.id, actor=admin, reason="Double facturation", now=START)
    assert credit.kind is InvoiceKind.CREDIT_NOTE and credit.credit_of_id == invoice.id
    assert credit.number == "2026-000002"
    assert (credit.total_ht_cents, credit.vat_cents, credit.total_ttc_cents) == (-8900, -1780, -10680)
    assert credit.lines[0].quantity == -1 and credit.reason == "Double facturation"
    db.session.expire_all()
    assert payments.invoice_status(db.session.get(Invoice, invoice.id)) == "credited"
    assert payments.invoice_status(credit) == "issued"
    with pytest.raises(InvoiceAlreadyCredited):
        payments.issue_credit_note(invoice.id, actor=admin, reason="encore")
    with pytest.raises(NotAnInvoice):
        payments.issue_credit_note(credit.id, actor=admin, reason="un avoir d'avoir")
    with pytest.raises(InvoiceAlreadyCredited):
        payments.mark_invoice_paid(invoice.id, actor=admin, method=PaymentMethod.CHEQUE,
                                   paid_on=dt.date(2026, 1, 2), reference="CHQ 1")
    with pytest.raises(InvalidBillingData):
        payments.issue_credit_note(make_invoice().id, actor=admin, reason="   ")


def test_a_paid_invoice_can_be_refunded_by_credit_note_but_not_paid_twice():
    invoice = make_invoice()
    admin = factories.make_staff(role=Role.ADMIN)
    with transaction():
        payment = payments.mark_invoice_paid(invoice.id, actor=admin, method=PaymentMethod.BANK_TRANSFER,
                                             paid_on=dt.date(2026, 1, 5), reference="VIR 42")
    assert payment.amount_cents == 10680 and payment.recorded_by_id == admin.id
    with pytest.raises(InvoiceAlreadyPaid):
        payments.mark_invoice_paid(invoice.id, actor=admin, method=PaymentMethod.CHEQUE,
                                   paid_on=dt.date(2026, 1, 5), reference="CHQ 2")
    db.session.rollback()
    with transaction():
        payments.issue_credit_note(invoice.id, actor=admin, reason="Remboursement")
    db.session.expire_all()
    assert payments.invoice_status(db.session.get(Invoice, invoice.id)) == "paid"


@pytest.mark.parametrize(("field", "values"), [
    ("method", dict(method=PaymentMethod.CARD)),
    ("paid_on", dict(paid_on=dt.date(2030, 1, 1))),
    ("reference", dict(reference="  ")),
    ("reference", dict(reference="x" * (PAYMENT_REFERENCE_MAX_LENGTH + 1))),
])
def test_mark_paid_refuses_bad_data(field, values):
    invoice = make_invoice()
    admin = factories.make_staff(role=Role.ADMIN)
    arguments = dict(method=PaymentMethod.BANK_TRANSFER, paid_on=dt.date(2026, 1, 5), reference="VIR 1") | values
    with pytest.raises(InvalidBillingData) as error:
        payments.mark_invoice_paid(invoice.id, actor=admin, now=START, **arguments)
    assert field in error.value.fields
    assert not db.session.scalars(sa.select(Payment)).all()


def test_credit_note_refuses_a_reason_longer_than_the_limit():
    invoice = make_invoice()
    with pytest.raises(InvalidBillingData) as error:
        payments.issue_credit_note(invoice.id, actor=factories.make_staff(role=Role.ADMIN),
                                   reason="x" * (CREDIT_NOTE_REASON_MAX_LENGTH + 1))
    assert "reason" in error.value.fields
    assert payments.invoice_status(invoice) == "open"


# -- who sees and does what --------------------------------------------------------

def test_operator_staff_and_admin_see_everything_clinic_staff_only_their_clinic():
    clinic = factories.make_clinic()
    inside = make_invoice(make_subscription(factories.make_practitioner(clinic=clinic),
                                            status=SubscriptionStatus.ACTIVE))
    outside = make_invoice()
    operator = factories.make_staff()
    admin = factories.make_staff(role=Role.ADMIN)
    clinic_staff = factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT)
    secretary = factories.make_staff(clinic=clinic)
    for user in (operator, admin):
        assert len(db.session.scalars(backoffice.invoices_query(user)).all()) == 2
    # Within a clinic, billing is the accountant's: a secretary sees none of it.
    for query in (backoffice.invoices_query, backoffice.search_subscriptions_query, metrics.metrics):
        with pytest.raises(Forbidden):
            query(secretary)
    with pytest.raises(Forbidden):
        scope.visible_invoice(inside.id, secretary)
    assert db.session.scalars(backoffice.invoices_query(clinic_staff)).all() == [inside]
    assert scope.visible_invoice(inside.id, clinic_staff) is inside
    with pytest.raises(InvoiceNotFound):
        scope.visible_invoice(outside.id, clinic_staff)
    with pytest.raises(Forbidden):
        payments.mark_invoice_paid(inside.id, actor=clinic_staff, method=PaymentMethod.CHEQUE,
                                   paid_on=dt.date(2026, 1, 5), reference="CHQ 1")
    with pytest.raises(Forbidden):
        payments.issue_credit_note(inside.id, actor=clinic_staff, reason="non")


def test_practitioners_see_only_their_own_invoices_patients_none():
    mine = make_invoice()
    other = make_invoice()
    me = mine.subscription.practitioner.user
    assert scope.visible_invoice(mine.id, me) is mine
    with pytest.raises(InvoiceNotFound):
        scope.visible_invoice(other.id, me)
    with pytest.raises(InvoiceNotFound):
        scope.visible_invoice(mine.id, factories.make_patient().account)
    for user in (me, factories.make_patient().account):
        with pytest.raises(Forbidden):
            backoffice.invoices_query(user)


def test_metrics_count_statuses_and_mrr_of_paying_subscriptions():
    make_subscription()
    make_subscription(status=SubscriptionStatus.ACTIVE)
    make_subscription(status=SubscriptionStatus.ACTIVE)
    make_subscription(status=SubscriptionStatus.PAST_DUE, past_due_since=START)
    make_subscription(status=SubscriptionStatus.SUSPENDED)
    result = metrics.metrics(factories.make_staff(role=Role.ADMIN))
    assert (result.trialing, result.active, result.past_due, result.suspended) == (1, 2, 1, 1)
    assert result.mrr_cents == 3 * 8900


def test_monthly_revenue_nets_credit_notes_over_twelve_months():
    admin = factories.make_staff(role=Role.ADMIN)
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    make_invoice(subscription, now=dt.datetime(2025, 1, 15, tzinfo=dt.UTC))  # 13 months back: outside
    make_invoice(subscription, now=dt.datetime(2025, 11, 15, tzinfo=dt.UTC))
    credited = make_invoice(subscription, now=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    make_invoice(subscription, now=dt.datetime(2026, 1, 6, tzinfo=dt.UTC))
    with transaction():
        payments.issue_credit_note(credited.id, actor=admin, reason="Erreur",
                                   now=dt.datetime(2026, 1, 7, tzinfo=dt.UTC))
    months = metrics.monthly_revenue(admin, now=dt.datetime(2026, 1, 20, tzinfo=dt.UTC))
    assert len(months) == 12 and months[0][0] == dt.date(2025, 2, 1) and months[-1][0] == dt.date(2026, 1, 1)
    totals = dict(months)
    assert totals[dt.date(2025, 11, 1)] == 8900 and totals[dt.date(2026, 1, 1)] == 8900
    assert sum(totals.values()) == 2 * 8900


def test_no_line_can_be_added_to_an_issued_invoice():
    invoice = make_invoice()
    db.session.add(InvoiceLine(invoice=invoice, description="ajout", quantity=1, unit_price_ht_cents=1,
                               total_ht_cents=1, vat_rate_bp=2000, vat_cents=0, total_ttc_cents=1))
    with pytest.raises(InvoiceImmutable):
        db.session.flush()
    db.session.rollback()
    assert len(db.session.get(Invoice, invoice.id).lines) == 1
