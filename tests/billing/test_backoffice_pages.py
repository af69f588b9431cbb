"""Back office: the CSV French spreadsheets open, searching subscriptions, a subscription's file,
and a confirmation step (without JavaScript) before every irreversible action."""

import csv
import datetime as dt
import html
import io

import sqlalchemy as sa

from tests import factories
from tests.billing.factories import START, make_invoice, make_stripe_subscription, make_subscription
from tests.billing.test_invoice_documents import issue_invoice_with_lines
from webapp.accounts.models import ClinicRole, Role
from webapp.billing import backoffice, bookability, payments, subscriptions
from webapp.billing.models import Invoice, Payment, PaymentMethod, Subscription, SubscriptionStatus
from webapp.extensions import db
from webapp.transaction import transaction

FRENCH_HEADER = ["Numéro", "Type", "Date d'émission", "Date d'échéance", "Client", "Identifiant du client",
                 "Total HT (€)", "Taux de TVA (%)", "TVA (€)", "Total TTC (€)", "Devise", "Statut",
                 "Avoir sur la facture", "Payée le", "Référence du paiement"]


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def spreadsheet_rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode()), "no UTF-8 BOM: Excel would read the accents as Windows-1252"
    text = data.decode("utf-8")[1:]
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


# -- the CSV export -------------------------------------------------------------------

def test_the_page_exports_a_csv_french_spreadsheets_open(client, log_in):
    practitioner = factories.make_practitioner(first_name="=HYPERLINK(1)", last_name="Martin")
    invoice = make_invoice(make_subscription(practitioner, status=SubscriptionStatus.ACTIVE))
    admin = factories.make_staff(role=Role.ADMIN)
    with transaction():
        credit = payments.issue_credit_note(invoice.id, actor=admin, reason="Erreur", now=START)
        paid = issue_invoice_with_lines([("Abonnement annuel", 12, 10288, 2000), ("Guide", 1, 1000, 550)])
        payments.mark_invoice_paid(paid.id, actor=admin, method=PaymentMethod.CHEQUE, paid_on=dt.date(2026, 1, 8),
                                   reference="CHQ 0012345", now=START)
    log_in(admin)
    response = client.get("/backoffice/billing/invoices?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="carnet-factures.csv"' in response.headers["Content-Disposition"]
    header, *rows = spreadsheet_rows(response.data)
    assert header == FRENCH_HEADER
    by_number = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert list(by_number) == [paid.number, credit.number, invoice.number]
    first = by_number[invoice.number]
    assert (first["Type"], first["Date d'émission"], first["Date d'échéance"], first["Total HT (€)"],
            first["Taux de TVA (%)"], first["TVA (€)"], first["Total TTC (€)"], first["Statut"]) \
        == ("Facture", "10/01/2026", "09/02/2026", "89,00", "20", "17,80", "106,80", "Annulée par un avoir")
    assert first["Client"] == "'=HYPERLINK(1) Martin"  # no formula in a spreadsheet
    note = by_number[credit.number]
    assert (note["Type"], note["Total TTC (€)"], note["Avoir sur la facture"]) == ("Avoir", "-106,80", invoice.number)
    thousands = by_number[paid.number]
    # No thousands separator: "1234,56" is a number for French Excel, "1 234,56" with a plain space is text.
    assert (thousands["Total HT (€)"], thousands["Taux de TVA (%)"], thousands["TVA (€)"]) \
        == ("1244,56", "5,5 20", "247,46")
    assert (thousands["Statut"], thousands["Payée le"], thousands["Référence du paiement"]) \
        == ("Réglée", "08/01/2026", "CHQ 0012345")

    machine = client.get("/backoffice/billing/invoices?format=csv&dialect=machine")
    rows = list(csv.DictReader(io.StringIO(text_of(machine))))
    assert rows[-1]["total_ttc_cents"] == "10680" and rows[-1]["issued_at"].startswith("2026-01-10T")


def test_the_api_keeps_its_machine_csv_and_gives_the_french_one_on_request(client, api_token):
    invoice = make_invoice()
    headers = api_token(factories.make_staff(role=Role.ADMIN))
    machine = client.get("/api/v1/backoffice/invoices?format=csv", headers=headers)
    assert text_of(machine).startswith("number,kind,issued_at")
    french = client.get("/api/v1/backoffice/invoices?format=csv&dialect=fr", headers=headers)
    header, row = spreadsheet_rows(french.data)
    assert header == FRENCH_HEADER and row[0] == invoice.number and row[9] == "106,80"
    refused = client.get("/api/v1/backoffice/invoices?format=csv&dialect=excel", headers=headers)
    assert refused.status_code == 422 and "dialect" in refused.json["error"]["fields"]


# -- searching subscriptions ------------------------------------------------------------

def listed(client, query: str) -> str:
    response = client.get(f"/backoffice/billing/subscriptions?{query}")
    assert response.status_code == 200
    return text_of(response)


def test_subscriptions_are_searched_by_name_email_siren_and_status(client, log_in):
    martin = make_subscription(factories.make_practitioner(first_name="Claire", last_name="Martin",
                                                           user_overrides={"email": "claire.cabinet@example.org"}),
                               status=SubscriptionStatus.ACTIVE, billing_siret="30326504500003")
    durand = make_subscription(factories.make_practitioner(first_name="Paul", last_name="Durand"),
                               status=SubscriptionStatus.PAST_DUE, past_due_since=START)
    clinic = factories.make_clinic(name="Centre des Lilas", siret="55208131766522")
    with transaction():
        lilas = backoffice.subscribe_clinic(clinic.id, actor=factories.make_staff(role=Role.ADMIN), now=START)
    log_in(factories.make_staff())

    def names(query):
        html = listed(client, query)
        return {subscription.subscriber_name for subscription in (martin, durand, lilas)
                if f"/backoffice/billing/subscriptions/{subscription.id}\"" in html}

    assert names("q=martin") == {"Claire Martin"}
    assert names("q=claire+MARTIN") == {"Claire Martin"}
    assert names("q=Martin+Claire") == {"Claire Martin"}
    assert names("q=cabinet%40example") == {"Claire Martin"}
    assert names("q=303+265+045") == {"Claire Martin"}
    assert names("q=552081317") == {"Centre des Lilas"}
    assert names("q=lilas") == {"Centre des Lilas"}
    assert names("q=a&status=past_due") == {"Paul Durand"}
    assert names("q=") == {"Claire Martin", "Paul Durand", "Centre des Lilas"}
    assert names("q=100%25") == set()  # "%" is a character, not a wildcard
    assert 'value="martin"' in listed(client, "q=martin")


def test_a_clinic_accountant_searches_their_clinic_only(client, log_in):
    clinic = factories.make_clinic()
    inside = make_subscription(factories.make_practitioner(clinic=clinic, last_name="Martin"))
    outside = make_subscription(factories.make_practitioner(last_name="Martin"))
    log_in(factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT))
    html = listed(client, "q=martin")
    assert f"/subscriptions/{inside.id}\"" in html and f"/subscriptions/{outside.id}\"" not in html
    assert client.get(f"/backoffice/billing/subscriptions/{outside.id}").status_code == 404


def test_the_api_searches_subscriptions_too(client, api_token):
    make_subscription(factories.make_practitioner(last_name="Martin"))
    make_subscription(factories.make_practitioner(last_name="Durand"))
    response = client.get("/api/v1/backoffice/subscriptions?q=durand", headers=api_token(factories.make_staff()))
    assert [item["subscriber"] for item in response.json["items"]] == ["Claire Durand"]


# -- a subscription's file ----------------------------------------------------------------

def test_the_subscription_page_shows_plan_history_invoices_and_payments(client, log_in):
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    invoice, unpaid = make_invoice(subscription), make_invoice(subscription)
    admin = factories.make_staff(role=Role.ADMIN)
    with transaction():
        payments.mark_invoice_paid(invoice.id, actor=admin, method=PaymentMethod.BANK_TRANSFER,
                                   paid_on=dt.date(2026, 1, 9), reference="VIR-0042", now=START)
    log_in(admin)
    html = text_of(client.get(f"/backoffice/billing/subscriptions/{subscription.id}"))
    assert f"Abonnement de {subscription.subscriber_name}" in html and "Formule Praticien" in html
    assert subscription.practitioner.user.email in html
    history = html[html.index('id="history-heading"'):html.index('id="invoices-heading"')]
    assert history.index("Essai gratuit") < history.index("Actif")
    assert invoice.number in html and unpaid.number in html and "VIR-0042" in html
    assert "Résilier l'abonnement maintenant" in html and "Informations de facturation" in html
    assert [change.to_status for change in backoffice.status_history(subscription)] \
        == [SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE]


def test_every_status_change_is_recorded_whatever_makes_it(app):
    subscription = make_subscription()
    with transaction():
        subscriptions.record_payment_failure(db.session.get(Subscription, subscription.id), since=START)
    with transaction():
        subscriptions.suspend_if_grace_is_over(db.session.get(Subscription, subscription.id),
                                               now=START + dt.timedelta(days=60))
    with transaction():
        subscriptions.mark_in_good_standing(db.session.get(Subscription, subscription.id))
    changes = backoffice.status_history(db.session.get(Subscription, subscription.id))
    assert [(change.from_status, change.to_status) for change in changes] == [
        (None, SubscriptionStatus.TRIALING), (SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE),
        (SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED),
        (SubscriptionStatus.SUSPENDED, SubscriptionStatus.ACTIVE)]


# -- confirmations ------------------------------------------------------------------------

def test_cancelling_a_subscription_asks_for_confirmation_first(client, log_in, form_post):
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    log_in(factories.make_staff(role=Role.ADMIN))
    page = f"/backoffice/billing/subscriptions/{subscription.id}"
    asked = form_post(f"{page}/cancel", {}, page=page)
    html = text_of(asked)
    assert asked.status_code == 200 and "Résilier l'abonnement de" in html
    assert 'name="confirmed" value="yes"' in html and f'href="{page}"' in html
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.ACTIVE
    done = form_post(f"{page}/cancel", {"confirmed": "yes"}, page=page, follow_redirects=True)
    assert "L'abonnement est résilié." in text_of(done)
    db.session.expire_all()
    cancelled = db.session.get(Subscription, subscription.id)
    assert cancelled.status is SubscriptionStatus.CANCELLED and not bookability.is_bookable(cancelled.practitioner_id)
    assert "Résilier l'abonnement maintenant" not in text_of(done)
    again = form_post(f"{page}/cancel", {"confirmed": "yes"}, page=page, follow_redirects=True)
    assert "ne peut pas être modifié dans son état actuel" in text_of(again)


def test_a_stripe_subscription_is_not_cancelled_from_the_back_office(client, log_in, form_post):
    subscription = make_stripe_subscription()
    log_in(factories.make_staff(role=Role.ADMIN))
    page = f"/backoffice/billing/subscriptions/{subscription.id}"
    assert "Résilier l'abonnement maintenant" not in text_of(client.get(page))
    refused = form_post(f"{page}/cancel", {"confirmed": "yes"}, page=page, follow_redirects=True)
    assert "réglé en ligne" in text_of(refused)
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.ACTIVE


def test_a_clinic_accountant_cannot_cancel(client, log_in, form_post):
    clinic = factories.make_clinic()
    subscription = make_subscription(factories.make_practitioner(clinic=clinic), status=SubscriptionStatus.ACTIVE)
    log_in(factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT))
    page = f"/backoffice/billing/subscriptions/{subscription.id}"
    assert "Résilier l'abonnement maintenant" not in text_of(client.get(page))
    for data in ({}, {"confirmed": "yes"}):
        assert form_post(f"{page}/cancel", data, page=page).status_code == 403
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.ACTIVE


def test_a_credit_note_is_issued_only_after_its_confirmation(client, log_in, form_post):
    invoice = make_invoice()
    log_in(factories.make_staff(role=Role.ADMIN))
    page = f"/backoffice/billing/invoices/{invoice.id}"
    asked = form_post(f"{page}/credit-note", {"reason": "Facturé deux fois"}, page=page)
    html = text_of(asked)
    assert asked.status_code == 200 and f"Émettre un avoir sur la facture {invoice.number}" in html
    assert 'name="reason" value="Facturé deux fois"' in html and "106,80" in html
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1
    done = form_post(f"{page}/credit-note", {"reason": "Facturé deux fois", "confirmed": "yes"}, page=page)
    assert done.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 2


def test_a_payment_is_recorded_only_after_its_confirmation(client, log_in, form_post):
    invoice = make_invoice()
    log_in(factories.make_staff(role=Role.ADMIN))
    page = f"/backoffice/billing/invoices/{invoice.id}"
    url = f"{page}/mark-paid"
    future = form_post(url, {"method": "cheque", "paid_on": "2099-01-01", "reference": "CHQ 1"}, page=page)
    assert future.status_code == 422 and 'id="paid_on-error"' in text_of(future)  # before asking
    asked = form_post(url, {"method": "cheque", "paid_on": "2026-01-05", "reference": "CHQ 1"}, page=page)
    html = text_of(asked)
    assert asked.status_code == 200 and "Enregistrer ce paiement" in html and "5 janvier 2026" in html
    assert 'name="paid_on" value="2026-01-05"' in html
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0
    done = form_post(url, {"method": "cheque", "paid_on": "2026-01-05", "reference": "CHQ 1", "confirmed": "yes"},
                     page=page)
    assert done.status_code == 302 and db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1


def test_the_back_office_sets_a_clinic_subscriptions_billing_details(client, log_in, form_post):
    clinic = factories.make_clinic()
    with transaction():
        subscription = backoffice.subscribe_clinic(clinic.id, actor=factories.make_staff(role=Role.ADMIN), now=START)
    log_in(factories.make_staff(clinic=clinic, clinic_role=ClinicRole.ACCOUNTANT))
    page = f"/backoffice/billing/subscriptions/{subscription.id}"
    refused = form_post(f"{page}/billing-details", {"name": "SCM Lilas", "vat_number": "FR41303265045"}, page=page)
    assert refused.status_code == 422 and 'id="vat_number-error"' in text_of(refused)
    saved = form_post(f"{page}/billing-details", {"name": "SCM Lilas", "siret": "303265045",
                                                  "vat_number": "FR40303265045"}, page=page)
    assert saved.status_code == 302
    db.session.expire_all()
    kept = db.session.get(Subscription, subscription.id)
    assert (kept.billing_name, kept.billing_siret, kept.billing_vat_number) == ("SCM Lilas", "303265045",
                                                                                 "FR40303265045")
