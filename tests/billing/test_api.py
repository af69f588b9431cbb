"""Billing API: the practitioner's endpoints, the back office, refusals, CSV export."""

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa

from tests import factories
from tests.billing.factories import START, make_invoice, make_subscription
from webapp.accounts.models import ClinicRole, Role
from webapp.billing import payments
from webapp.billing.models import Invoice, Payment, PaymentMethod, SubscriptionStatus
from webapp.extensions import db
from webapp.transaction import transaction

BACK_OFFICE_CALLS = [
    ("get", "/api/v1/backoffice/subscriptions", None),
    ("get", "/api/v1/backoffice/invoices", None),
    ("get", "/api/v1/backoffice/invoices?format=csv", None),
    ("get", "/api/v1/backoffice/failed-payments", None),
    ("get", "/api/v1/backoffice/metrics", None),
    ("post", "/api/v1/backoffice/invoices/{invoice}/mark-paid",
     {"method": "bank_transfer", "paid_on": "2026-01-05", "reference": "VIR 1"}),
    ("post", "/api/v1/backoffice/invoices/{invoice}/credit-note", {"reason": "Erreur"}),
    ("post", "/api/v1/backoffice/clinic-subscriptions", {"clinic_id": "{clinic}"}),
]


def call(client, method, url, body, headers, **ids):
    url = url.format(**ids)
    if body is not None:
        body = {key: (int(value.format(**ids)) if value == "{clinic}" else value) for key, value in body.items()}
        return getattr(client, method)(url, json=body, headers=headers)
    return getattr(client, method)(url, headers=headers)


@pytest.mark.parametrize(("method", "url", "body"), BACK_OFFICE_CALLS)
@pytest.mark.parametrize("role", ["patient", "practitioner", "anonymous"])
def test_back_office_refuses_patients_practitioners_and_anonymous(client, api_token, method, url, body, role):
    invoice = make_invoice()
    clinic = factories.make_clinic()
    if role == "anonymous":
        headers = {}
    else:
        user = factories.make_patient().account if role == "patient" else invoice.subscription.practitioner.user
        headers = api_token(user)
    response = call(client, method, url, body, headers, invoice=invoice.id, clinic=clinic.id)
    assert response.status_code == (401 if role == "anonymous" else 403)
    assert response.json["error"]["code"] in ("forbidden", "not_authenticated")
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


@pytest.mark.parametrize(("method", "url", "body"), [c for c in BACK_OFFICE_CALLS if c[0] == "post"])
def test_clinic_staff_cannot_record_payments_credit_notes_or_clinic_plans(client, api_token, method, url, body):
    clinic = factories.make_clinic()
    invoice = make_invoice(make_subscription(factories.make_practitioner(clinic=clinic),
                                             status=SubscriptionStatus.ACTIVE))
    response = call(client, method, url, body,
                    api_token(factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT)),
                    invoice=invoice.id, clinic=clinic.id)
    assert response.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1


def test_plans_are_public_with_vat(client):
    response = client.get("/api/v1/billing/plans")
    assert response.status_code == 200
    practitioner = response.json["items"][0]
    assert practitioner == {"code": "practitioner", "name": "Praticien", "price_cents": 8900, "vat_rate": 20.0,
                            "price_ttc_cents": 10680, "currency": "EUR", "interval": "month",
                            "per_practitioner": False}
    assert response.json["items"][1]["per_practitioner"] is True


def test_practitioner_reads_their_subscription(client, api_token):
    subscription = make_subscription()
    response = client.get("/api/v1/billing/subscription", headers=api_token(subscription.practitioner.user))
    assert response.status_code == 200
    assert response.json["status"] == "trialing" and response.json["provider"] == "manual"
    assert response.json["plan"]["code"] == "practitioner"
    assert response.json["current_period_end"].endswith("+00:00")


def test_subscription_endpoint_refusals(client, api_token):
    without = factories.make_practitioner()
    assert client.get("/api/v1/billing/subscription", headers=api_token(without.user)).status_code == 404
    patient = factories.make_patient()
    for path in ("/api/v1/billing/subscription", "/api/v1/billing/invoices"):
        assert client.get(path, headers=api_token(patient.account)).status_code == 403
    staff = factories.make_staff()
    assert client.post("/api/v1/billing/checkout", json={}, headers=api_token(staff)).status_code == 403


def test_cancel_and_resume_through_the_api(client, api_token):
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    headers = api_token(subscription.practitioner.user)
    assert client.post("/api/v1/billing/subscription/resume", headers=headers).status_code == 409
    cancelled = client.post("/api/v1/billing/subscription/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["cancel_at_period_end"] is True
    resumed = client.post("/api/v1/billing/subscription/resume", headers=headers)
    assert resumed.status_code == 200 and resumed.json["cancel_at_period_end"] is False


def test_checkout_refuses_bad_urls(client, api_token):
    subscription = make_subscription()
    response = client.post("/api/v1/billing/checkout", json={"success_url": "javascript:alert(1)"},
                           headers=api_token(subscription.practitioner.user))
    assert response.status_code == 422 and "success_url" in response.json["error"]["fields"]


def test_practitioner_lists_own_invoices_and_downloads_pdf(client, api_token):
    mine = make_invoice()
    other = make_invoice()
    headers = api_token(mine.subscription.practitioner.user)
    response = client.get("/api/v1/billing/invoices", headers=headers)
    assert response.status_code == 200 and response.json["total"] == 1
    item = response.json["items"][0]
    assert {key: item[key] for key in ("number", "total_ht_cents", "vat_cents", "total_ttc_cents", "status")} == {
        "number": mine.number, "total_ht_cents": 8900, "vat_cents": 1780, "total_ttc_cents": 10680, "status": "open"}
    pdf = client.get(f"/api/v1/billing/invoices/{mine.id}/pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get(f"/api/v1/billing/invoices/{other.id}/pdf", headers=headers).status_code == 404
    patient = factories.make_patient()
    assert client.get(f"/api/v1/billing/invoices/{mine.id}/pdf", headers=api_token(patient.account)).status_code == 403


def test_back_office_lists_subscriptions_with_status_filter(client, api_token):
    make_subscription()
    past_due = make_subscription(status=SubscriptionStatus.PAST_DUE, past_due_since=START)
    headers = api_token(factories.make_staff(role=Role.ADMIN))
    assert client.get("/api/v1/backoffice/subscriptions", headers=headers).json["total"] == 2
    filtered = client.get("/api/v1/backoffice/subscriptions?status=past_due", headers=headers).json
    assert filtered["total"] == 1 and filtered["items"][0]["id"] == past_due.id
    assert filtered["items"][0]["subscriber"] == past_due.practitioner.full_name
    bad = client.get("/api/v1/backoffice/subscriptions?status=unpaid", headers=headers)
    assert bad.status_code == 422 and "status" in bad.json["error"]["fields"]
    assert client.get("/api/v1/backoffice/subscriptions?per_page=500", headers=headers).status_code == 422


def test_clinic_accountants_see_only_their_clinic(client, api_token):
    clinic = factories.make_clinic()
    inside = make_invoice(make_subscription(factories.make_practitioner(clinic=clinic),
                                            status=SubscriptionStatus.ACTIVE))
    outside = make_invoice()
    secretary = api_token(factories.make_staff(clinic=clinic))
    for url in ("/api/v1/backoffice/invoices", "/api/v1/backoffice/subscriptions", "/api/v1/backoffice/metrics"):
        assert client.get(url, headers=secretary).status_code == 403, url
    headers = api_token(factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT))
    assert [i["number"] for i in client.get("/api/v1/backoffice/invoices", headers=headers).json["items"]] \
        == [inside.number]
    assert client.get("/api/v1/backoffice/subscriptions", headers=headers).json["total"] == 1
    assert client.get("/api/v1/backoffice/metrics", headers=headers).json["active"] == 1
    refused = client.post(f"/api/v1/backoffice/invoices/{outside.id}/mark-paid", headers=headers,
                          json={"method": "cheque", "paid_on": "2026-01-05", "reference": "CHQ 1"})
    assert refused.status_code == 404


def test_invoices_csv_export(client, api_token):
    practitioner = factories.make_practitioner(first_name="=HYPERLINK(1)", last_name="Martin")
    invoice = make_invoice(make_subscription(practitioner, status=SubscriptionStatus.ACTIVE))
    admin = factories.make_staff(role=Role.ADMIN)
    with transaction():
        credit = payments.issue_credit_note(invoice.id, actor=admin, reason="Erreur", now=START)
    paid = make_invoice(make_subscription(status=SubscriptionStatus.ACTIVE))
    with transaction():
        payments.mark_invoice_paid(paid.id, actor=admin, method=PaymentMethod.CHEQUE,
                                   paid_on=dt.date(2026, 1, 8), reference="CHQ 0012345", now=START)
    response = client.get("/api/v1/backoffice/invoices?format=csv", headers=api_token(admin))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    by_number = {row["number"]: row for row in rows}
    assert list(by_number) == [paid.number, credit.number, invoice.number]
    first = by_number[invoice.number]
    assert (first["kind"], first["total_ht_cents"], first["vat_rate"], first["vat_cents"], first["total_ttc_cents"],
            first["currency"], first["status"]) == ("invoice", "8900", "20", "1780", "10680", "EUR", "credited")
    assert first["buyer"] == "'=HYPERLINK(1) Martin"  # no formula in a spreadsheet
    assert (by_number[credit.number]["credit_of"], by_number[credit.number]["total_ttc_cents"]) \
        == (invoice.number, "-10680")
    assert (by_number[paid.number]["status"], by_number[paid.number]["paid_on"],
            by_number[paid.number]["payment_reference"]) == ("paid", "2026-01-08", "CHQ 0012345")
    only_paid = client.get("/api/v1/backoffice/invoices?format=csv&status=paid", headers=api_token(admin))
    assert [row["number"] for row in csv.DictReader(io.StringIO(only_paid.get_data(as_text=True)))] == [paid.number]
    assert client.get("/api/v1/backoffice/invoices?format=pdf", headers=api_token(admin)).status_code == 422


def test_mark_paid_through_the_api(client, api_token):
    invoice = make_invoice()
    headers = api_token(factories.make_staff())
    url = f"/api/v1/backoffice/invoices/{invoice.id}/mark-paid"
    bad = client.post(url, headers=headers, json={"method": "card", "paid_on": "05/01/2026", "reference": ""})
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"method", "paid_on", "reference"}
    future = client.post(url, headers=headers, json={"method": "cheque", "paid_on": "2099-01-01", "reference": "CHQ"})
    assert future.status_code == 422 and "paid_on" in future.json["error"]["fields"]
    ok = client.post(url, headers=headers,
                     json={"method": "bank_transfer", "paid_on": "2026-01-05", "reference": "VIR 7"})
    assert ok.status_code == 200 and ok.json["amount_cents"] == 10680
    again = client.post(url, headers=headers, json={"method": "cheque", "paid_on": "2026-01-05", "reference": "CHQ"})
    assert again.status_code == 409 and again.json["error"]["code"] == "invoice_already_paid"
    missing = client.post("/api/v1/backoffice/invoices/999999/mark-paid", headers=headers,
                          json={"method": "cheque", "paid_on": "2026-01-05", "reference": "CHQ"})
    assert missing.status_code == 404 and missing.json["error"]["code"] == "invoice_not_found"
    listed = client.get("/api/v1/backoffice/invoices?status=paid", headers=headers).json
    assert listed["total"] == 1 and listed["items"][0]["status"] == "paid"


def test_credit_note_through_the_api(client, api_token):
    invoice = make_invoice()
    headers = api_token(factories.make_staff(role=Role.ADMIN))
    url = f"/api/v1/backoffice/invoices/{invoice.id}/credit-note"
    assert client.post(url, headers=headers, json={}).status_code == 422
    response = client.post(url, headers=headers, json={"reason": "Facturé deux fois"})
    assert response.status_code == 201
    assert (response.json["kind"], response.json["credit_of"], response.json["total_ttc_cents"]) == (
        "credit_note", invoice.number, -10680)
    assert client.post(url, headers=headers, json={"reason": "encore"}).status_code == 409
    credit_url = f"/api/v1/backoffice/invoices/{response.json['id']}/credit-note"
    assert client.post(credit_url, headers=headers, json={"reason": "x"}).json["error"]["code"] == "not_an_invoice"


@pytest.mark.parametrize("action", ["cancel", "mark-paid", "credit-note", "billing-details"])
def test_a_write_is_answered_from_its_own_transaction(client, api_token, sql_events, action):
    """The answer is serialised before the commit: no query runs after it (no second, implicit transaction)."""
    invoice = make_invoice()
    practitioner = invoice.subscription.practitioner.user
    url, body, user = {
        "cancel": ("/api/v1/billing/subscription/cancel", None, practitioner),
        "mark-paid": (f"/api/v1/backoffice/invoices/{invoice.id}/mark-paid",
                      {"method": "bank_transfer", "paid_on": "2026-01-05", "reference": "VIR 7"},
                      factories.make_staff()),
        "credit-note": (f"/api/v1/backoffice/invoices/{invoice.id}/credit-note", {"reason": "Erreur"},
                        factories.make_staff(role=Role.ADMIN)),
        "billing-details": ("/api/v1/billing/subscription/billing-details",
                            {"name": "SELARL Cabinet Martin"}, practitioner),
    }[action]
    headers = api_token(user)
    with sql_events() as events:
        response = client.put(url, headers=headers, json=body) if action == "billing-details" else \
            client.post(url, headers=headers, json=body)
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    assert events[-1] == "commit"


def test_failed_payments_and_metrics(client, api_token):
    past_due = make_subscription(status=SubscriptionStatus.PAST_DUE, past_due_since=START)
    make_invoice(past_due, now=START - dt.timedelta(days=40))
    make_subscription(status=SubscriptionStatus.ACTIVE)
    make_subscription(status=SubscriptionStatus.SUSPENDED, past_due_since=START - dt.timedelta(days=20))
    headers = api_token(factories.make_staff(role=Role.ADMIN))
    failed = client.get("/api/v1/backoffice/failed-payments", headers=headers).json
    assert failed["total"] == 2
    assert {item["id"]: item["overdue_ttc_cents"] for item in failed["items"]}[past_due.id] == 10680
    metrics = client.get("/api/v1/backoffice/metrics", headers=headers).json
    assert {key: metrics[key] for key in ("mrr_cents", "active", "trialing", "past_due", "suspended")} == {
        "mrr_cents": 2 * 8900, "active": 1, "trialing": 0, "past_due": 1, "suspended": 1}
    assert len(metrics["mrr_history"]) == 12


def test_operator_moves_a_clinic_to_the_clinic_plan(client, api_token):
    clinic = factories.make_clinic()
    factories.make_practitioner(clinic=clinic)
    headers = api_token(factories.make_staff(role=Role.ADMIN))
    response = client.post("/api/v1/backoffice/clinic-subscriptions", headers=headers, json={"clinic_id": clinic.id})
    assert response.status_code == 201 and response.json["plan"]["code"] == "clinic"
    again = client.post("/api/v1/backoffice/clinic-subscriptions", headers=headers, json={"clinic_id": clinic.id})
    assert again.status_code == 409 and again.json["error"]["code"] == "clinic_already_subscribed"
    unknown = client.post("/api/v1/backoffice/clinic-subscriptions", headers=headers, json={"clinic_id": 424242})
    assert unknown.status_code == 422


@pytest.mark.parametrize("path", ["/api/v1/backoffice/invoices", "/api/v1/backoffice/invoices?format=csv",
                                  "/api/v1/backoffice/subscriptions", "/api/v1/backoffice/failed-payments"])
def test_back_office_lists_take_the_same_queries_for_more_rows(client, api_token, count_queries, path):
    headers = api_token(factories.make_staff(role=Role.ADMIN))

    def add_rows():
        subscription = make_subscription(status=SubscriptionStatus.PAST_DUE, past_due_since=START)
        make_invoice(subscription)

    add_rows()
    assert client.get(path, headers=headers).status_code == 200  # records the token's first use, counted by neither
    with count_queries() as few:
        assert client.get(path, headers=headers).status_code == 200
    for _ in range(4):
        add_rows()
    with count_queries() as many:
        assert client.get(path, headers=headers).status_code == 200
    # failed-payments adds one sum per row: what each subscription owes.
    growth = 4 if "failed" in path else 0
    assert len(many) == len(few) + growth
