"""Billing pages: the practitioner's subscription page and PDFs, the back office."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.billing.factories import START, make_invoice, make_subscription
from tests.billing.pdf_reading import pdf_text
from webapp.accounts.models import ClinicRole, Role
from webapp.billing import payments, subscriptions
from webapp.billing.models import Invoice, Payment, SubscriptionStatus
from webapp.db import now_utc
from webapp.extensions import db
from webapp.transaction import transaction

BACK_OFFICE_PAGES = [
    "/backoffice/billing",
    "/backoffice/billing/subscriptions",
    "/backoffice/billing/invoices",
    "/backoffice/billing/invoices?format=csv",
    "/backoffice/billing/invoices/{invoice}",
    "/backoffice/billing/failed-payments",
    "/backoffice/billing/subscriptions?q=martin",
    "/backoffice/billing/subscriptions/{subscription}",
]
BACK_OFFICE_FORMS = [
    ("/backoffice/billing/invoices/{invoice}/mark-paid",
     {"method": "cheque", "paid_on": "2026-01-05", "reference": "CHQ 1"}),
    ("/backoffice/billing/invoices/{invoice}/mark-paid",
     {"method": "cheque", "paid_on": "2026-01-05", "reference": "CHQ 1", "confirmed": "yes"}),
    ("/backoffice/billing/invoices/{invoice}/credit-note", {"reason": "Erreur"}),
    ("/backoffice/billing/invoices/{invoice}/credit-note", {"reason": "Erreur", "confirmed": "yes"}),
    ("/backoffice/billing/subscriptions/{subscription}/cancel", {}),
    ("/backoffice/billing/subscriptions/{subscription}/cancel", {"confirmed": "yes"}),
    ("/backoffice/billing/subscriptions/{subscription}/billing-details", {"name": "SELARL X"}),
]


@pytest.mark.parametrize("path", BACK_OFFICE_PAGES)
@pytest.mark.parametrize("role", ["patient", "practitioner"])
def test_back_office_pages_refuse_patients_and_practitioners(client, log_in, path, role):
    invoice = make_invoice()
    user = factories.make_patient().account if role == "patient" else invoice.subscription.practitioner.user
    log_in(user)
    assert client.get(path.format(invoice=invoice.id, subscription=invoice.subscription_id)).status_code == 403


@pytest.mark.parametrize(("path", "data"), BACK_OFFICE_FORMS)
@pytest.mark.parametrize("role", ["patient", "practitioner"])
def test_back_office_forms_refuse_patients_and_practitioners(client, log_in, form_post, path, data, role):
    invoice = make_invoice()
    user = factories.make_patient().account if role == "patient" else invoice.subscription.practitioner.user
    log_in(user)
    response = form_post(path.format(invoice=invoice.id, subscription=invoice.subscription_id), data, page="/account")
    assert response.status_code == 403
    db.session.expire_all()
    assert invoice.subscription.status is SubscriptionStatus.ACTIVE and invoice.subscription.billing_name is None
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


@pytest.mark.parametrize("path", BACK_OFFICE_PAGES + ["/billing/subscription"])
def test_billing_pages_ask_anonymous_visitors_to_log_in(client, path):
    response = client.get(path.format(invoice=1, subscription=1))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_subscription_page_shows_plan_next_invoice_and_payment_instructions(client, log_in, app):
    subscription = make_subscription(now=START)
    log_in(subscription.practitioner.user)
    html = client.get("/billing/subscription").get_data(as_text=True)
    assert "Formule Praticien" in html and "Essai gratuit" in html
    assert "89,00\u00a0€" in html and "106,80\u00a0€" in html
    assert "Prochaine facture" in html
    assert app.config["CARNET_SELLER_IBAN"] in html and "virement" in html
    assert "Aucune facture" in html


def test_subscription_page_lists_invoices_with_pdf_download(client, log_in):
    invoice = make_invoice()
    other = make_invoice()
    log_in(invoice.subscription.practitioner.user)
    html = client.get("/billing/subscription").get_data(as_text=True)
    assert invoice.number in html and other.number not in html and "À régler" in html
    pdf = client.get(f"/billing/invoices/{invoice.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert f"carnet-{invoice.number}.pdf" in pdf.headers["Content-Disposition"]
    text = pdf_text(pdf.data)
    for expected in (f"Facture {invoice.number}", "Total HT", "Total TTC", "106,80", "17,80", "89,00",
                     invoice.buyer_name, invoice.seller_name, invoice.seller_siret):
        assert expected in text, expected
    assert client.get(f"/billing/invoices/{other.id}.pdf").status_code == 404


def test_credit_note_pdf_names_the_invoice_it_cancels(client, log_in):
    invoice = make_invoice()
    admin = factories.make_staff(role=Role.ADMIN)
    with transaction():
        credit = payments.issue_credit_note(invoice.id, actor=admin, reason="Erreur de tarif", now=START)
    log_in(admin)
    text = pdf_text(client.get(f"/billing/invoices/{credit.id}.pdf").data)
    assert f"Avoir {credit.number}" in text and invoice.number in text and "-106,80" in text


def test_patients_cannot_download_invoices(client, log_in):
    invoice = make_invoice()
    log_in(factories.make_patient().account)
    assert client.get(f"/billing/invoices/{invoice.id}.pdf").status_code == 403


def test_suspended_practitioner_is_told_booking_is_closed(client, log_in):
    subscription = make_subscription(status=SubscriptionStatus.SUSPENDED, past_due_since=START)
    log_in(subscription.practitioner.user)
    html = client.get("/billing/subscription").get_data(as_text=True)
    assert "Suspendu" in html and "ne peuvent plus prendre rendez-vous" in html


def test_practitioner_without_subscription_sees_an_explanation(client, log_in):
    practitioner = factories.make_practitioner()
    log_in(practitioner.user)
    response = client.get("/billing/subscription")
    assert response.status_code == 200 and "n'a pas d'abonnement" in response.get_data(as_text=True)


def test_cancel_and_keep_from_the_page(client, log_in, form_post):
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    log_in(subscription.practitioner.user)
    response = form_post("/billing/subscription/cancel", {}, page="/billing/subscription", follow_redirects=True)
    assert "prendra fin" in response.get_data(as_text=True)
    db.session.expire_all()
    assert subscriptions.subscription_of_practitioner(subscription.practitioner_id).cancel_at_period_end
    form_post("/billing/subscription/resume", {}, page="/billing/subscription")
    db.session.expire_all()
    assert not subscriptions.subscription_of_practitioner(subscription.practitioner_id).cancel_at_period_end


def test_subscription_actions_without_csrf_token_change_nothing(client, log_in):
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    log_in(subscription.practitioner.user)
    assert client.post("/billing/subscription/cancel").status_code == 400
    db.session.expire_all()
    assert not subscriptions.subscription_of_practitioner(subscription.practitioner_id).cancel_at_period_end


def test_manual_provider_offers_no_card_payment(client, log_in, form_post):
    subscription = make_subscription()
    log_in(subscription.practitioner.user)
    assert "payer par carte" not in client.get("/billing/subscription").get_data(as_text=True)
    response = form_post("/billing/subscription/checkout", {}, page="/billing/subscription", follow_redirects=True)
    assert "Le paiement en ligne n&#39;est pas disponible" in response.get_data(as_text=True)


def test_back_office_dashboard_shows_metrics_and_an_accessible_chart(client, log_in):
    make_invoice(now=now_utc())
    make_subscription(status=SubscriptionStatus.PAST_DUE, past_due_since=START)
    log_in(factories.make_staff(role=Role.ADMIN))
    html = client.get("/backoffice/billing").get_data(as_text=True)
    assert "Revenu mensuel récurrent (HT)" in html and "178,00\u00a0€" in html
    assert '<svg class="revenue-chart"' in html and 'role="img"' in html and "<title id=\"chart-title\">" in html
    assert html.count('<rect class="bar"') == 12
    assert "<table>" in html and "89,00\u00a0€" in html  # the table alternative
    assert "style=" not in html and "<script>" not in html


def test_back_office_lists_filter_and_export(client, log_in):
    make_subscription()
    past_due = make_subscription(status=SubscriptionStatus.PAST_DUE, past_due_since=START)
    invoice = make_invoice(past_due)
    log_in(factories.make_staff())
    filtered = client.get("/backoffice/billing/subscriptions?status=past_due").get_data(as_text=True)
    assert past_due.practitioner.full_name in filtered and "1 abonnement" in filtered
    unknown = client.get("/backoffice/billing/subscriptions?status=whatever")
    assert unknown.status_code == 200 and "Valeur de filtre inconnue" in unknown.get_data(as_text=True)
    invoices = client.get("/backoffice/billing/invoices?page=abc").get_data(as_text=True)
    assert invoice.number in invoices and "Exporter pour un tableur (CSV)" in invoices
    exported = client.get("/backoffice/billing/invoices?format=csv&status=open")
    assert exported.mimetype == "text/csv" and invoice.number in exported.get_data(as_text=True)
    failed = client.get("/backoffice/billing/failed-payments").get_data(as_text=True)
    assert past_due.practitioner.full_name in failed


def test_mark_paid_form_shows_errors_next_to_fields_then_records(client, log_in, form_post):
    invoice = make_invoice()
    log_in(factories.make_staff())
    page = f"/backoffice/billing/invoices/{invoice.id}"
    url = f"{page}/mark-paid"
    future = form_post(url, {"method": "cheque", "paid_on": "2099-01-01", "reference": "CHQ 1"}, page=page)
    assert future.status_code == 422 and 'id="paid_on-error"' in future.get_data(as_text=True)
    assert "dans le futur" in future.get_data(as_text=True)
    missing = form_post(url, {"method": "cheque", "paid_on": "", "reference": ""}, page=page)
    assert missing.status_code == 422 and 'id="reference-error"' in missing.get_data(as_text=True)
    done = form_post(url, {"method": "bank_transfer", "paid_on": "2026-01-05", "reference": "VIR 99",
                           "confirmed": "yes"}, page=page, follow_redirects=True)
    assert "Le paiement est enregistré" in done.get_data(as_text=True)
    payment = db.session.scalar(sa.select(Payment))
    assert (payment.paid_on, payment.reference) == (dt.date(2026, 1, 5), "VIR 99")
    again = form_post(url, {"method": "cheque", "paid_on": "2026-01-05", "reference": "CHQ 2", "confirmed": "yes"},
                      page=page, follow_redirects=True)
    assert "déjà réglée" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1


def test_credit_note_form(client, log_in, form_post):
    invoice = make_invoice()
    log_in(factories.make_staff(role=Role.ADMIN))
    page = f"/backoffice/billing/invoices/{invoice.id}"
    empty = form_post(f"{page}/credit-note", {"reason": ""}, page=page)
    assert empty.status_code == 422 and 'id="reason-error"' in empty.get_data(as_text=True)
    done = form_post(f"{page}/credit-note", {"reason": "Facturé deux fois", "confirmed": "yes"}, page=page,
                     follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "Avoir 2026-000002" in html and invoice.number in html and "Facturé deux fois" in html


def test_clinic_accountants_read_their_clinic_but_record_nothing(client, log_in, form_post):
    clinic = factories.make_clinic()
    inside = make_invoice(make_subscription(factories.make_practitioner(clinic=clinic),
                                            status=SubscriptionStatus.ACTIVE))
    outside = make_invoice()
    log_in(factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT))
    html = client.get("/account").get_data(as_text=True)
    assert 'href="/backoffice/billing"' in html and 'href="/agenda"' not in html
    html = client.get(f"/backoffice/billing/invoices/{inside.id}").get_data(as_text=True)
    assert inside.number in html and "Marquer comme réglée" not in html
    assert client.get(f"/backoffice/billing/invoices/{outside.id}").status_code == 404
    assert client.get(f"/billing/invoices/{outside.id}.pdf").status_code == 404
    page = f"/backoffice/billing/invoices/{inside.id}"
    refused = form_post(f"{page}/mark-paid", {"method": "cheque", "paid_on": "2026-01-05", "reference": "CHQ 1"},
                        page=page)
    assert refused.status_code == 403
    assert outside.number not in client.get("/backoffice/billing/invoices").get_data(as_text=True)


def test_menu_entries_by_role(client, log_in):
    subscription = make_subscription()
    log_in(subscription.practitioner.user)
    html = client.get("/account").get_data(as_text=True)
    assert 'href="/billing/subscription"' in html and 'href="/backoffice/billing"' not in html
    log_in(factories.make_staff())
    html = client.get("/account").get_data(as_text=True)
    assert 'href="/backoffice/billing"' in html and 'href="/billing/subscription"' not in html


def test_a_clinic_secretary_has_no_billing(client, log_in):
    clinic = factories.make_clinic()
    invoice = make_invoice(make_subscription(factories.make_practitioner(clinic=clinic),
                                             status=SubscriptionStatus.ACTIVE))
    log_in(factories.make_staff(clinic=clinic))
    html = client.get("/account").get_data(as_text=True)
    assert 'href="/backoffice/billing"' not in html and 'href="/agenda"' in html
    for url in ("/backoffice/billing", "/backoffice/billing/invoices", f"/backoffice/billing/invoices/{invoice.id}"):
        assert client.get(url).status_code == 403, url


def test_practitioner_gives_siret_and_vat_number_printed_on_the_next_invoice(client, log_in, form_post):
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    log_in(subscription.practitioner.user)
    page = "/billing/subscription"
    refused = form_post("/billing/subscription/details", {"siret": "732 829 320 00075", "vat_number": "FR00"},
                        page=page)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="siret-error"' in html and 'id="vat_number-error"' in html
    saved = form_post("/billing/subscription/details", {"siret": "732 829 320 00074", "vat_number": "FR 44 732829320"},
                      page=page)
    assert saved.status_code == 302
    db.session.expire_all()
    subscription = db.session.get(type(subscription), subscription.id)
    assert (subscription.billing_siret, subscription.billing_vat_number) == ("73282932000074", "FR44732829320")
    invoice = make_invoice(subscription)
    assert (invoice.buyer_siret, invoice.buyer_vat_number) == ("73282932000074", "FR44732829320")
    text = pdf_text(invoice.document_pdf)
    assert "SIRET 73282932000074" in text and "FR44732829320" in text
    cleared = form_post("/billing/subscription/details", {"siret": "", "vat_number": ""}, page=page)
    assert cleared.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(subscription), subscription.id).billing_siret is None
