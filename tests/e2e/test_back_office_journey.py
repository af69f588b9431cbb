"""The operator's back office: finds a subscription, opens its page, records a transfer and issues a
credit note (each confirmed on a page of its own), exports the CSV, and cancels the subscription."""

import csv
import io
import re

import pytest
import sqlalchemy as sa

from tests import factories
from tests.billing.factories import make_active_subscription, make_invoice
from tests.e2e.conftest import log_in
from webapp.accounts.models import Role
from webapp.billing import payments
from webapp.billing.models import Invoice, Subscription, SubscriptionStatus
from webapp.extensions import db

pytestmark = pytest.mark.browser


def test_back_office_marks_an_invoice_paid(open_visit, locale):
    subscription = make_active_subscription(factories.make_practitioner(last_name="Rousseau"))
    make_active_subscription(factories.make_practitioner(last_name="Lefebvre"))
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.subscription_id == subscription.id))
    second = make_invoice(subscription)
    operator = factories.make_staff(role=Role.ADMIN, locale=locale)
    visit = open_visit()
    log_in(visit, operator)
    page = visit.page

    page.goto("/backoffice/billing")
    visit.check("dashboard")
    page.goto("/backoffice/billing/subscriptions")
    page.fill("#q", "rousseau")
    page.locator("form[role=search] button[type=submit]").click()
    page.wait_for_url("**/subscriptions?q=rousseau*")
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1 and "Rousseau" in rows.inner_text()
    visit.check("subscriptions-search")
    rows.locator("a").click()
    page.wait_for_url(f"**/backoffice/billing/subscriptions/{subscription.id}")
    assert invoice.number in page.locator("main").inner_text()
    visit.check("subscription")

    page.locator(f"main table a[href$='/invoices/{invoice.id}']").click()
    page.wait_for_url(f"**/backoffice/billing/invoices/{invoice.id}")
    visit.check("invoice-open")
    page.select_option("#method", "bank_transfer")
    page.fill("#paid_on", "2026-02-03")
    page.fill("#reference", "VIR-2026-0042")
    page.locator("form[action$='/mark-paid'] button[type=submit]").click()
    page.wait_for_url("**/mark-paid")
    assert visit.t("Record this payment?") in page.locator("h1").inner_text()
    assert "VIR-2026-0042" in page.locator("dl.facts").inner_text()
    visit.check("confirm-payment")
    db.session.expire_all()
    assert payments.invoice_status(db.session.get(Invoice, invoice.id)) == "open"  # asked, not done
    page.locator("button[name=confirmed]").click()
    page.wait_for_url(f"**/backoffice/billing/invoices/{invoice.id}")
    assert visit.t("The payment is recorded.") in page.locator(".flash").inner_text()
    assert "VIR-2026-0042" in page.locator("dl.facts").inner_text()
    visit.check("invoice-paid")
    db.session.expire_all()
    assert payments.invoice_status(db.session.get(Invoice, invoice.id)) == "paid"

    page.goto(f"/backoffice/billing/invoices/{second.id}")
    page.fill("#reason", "Facturé deux fois")
    page.locator("form[action$='/credit-note'] button[type=submit]").click()
    page.wait_for_url("**/credit-note")
    visit.check("confirm-credit-note")
    page.locator("main a.button.secondary").click()  # "No, go back": nothing is issued
    page.wait_for_url(f"**/backoffice/billing/invoices/{second.id}")
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 3
    page.fill("#reason", "Facturé deux fois")
    page.locator("form[action$='/credit-note'] button[type=submit]").click()
    page.wait_for_url("**/credit-note")
    page.locator("button[name=confirmed]").click()
    page.wait_for_url(re.compile(r"/backoffice/billing/invoices/\d+$"))
    credit = db.session.scalar(sa.select(Invoice).where(Invoice.credit_of_id == second.id))
    assert visit.t("Credit note %(number)s is issued.", number=credit.number) in page.locator(".flash").inner_text()

    page.goto("/backoffice/billing/invoices")
    visit.check("invoices")
    export = page.locator("main a[href*='dialect=fr']")
    response = page.request.get(export.get_attribute("href"))
    text = response.body().decode("utf-8")
    assert text.startswith("\ufeff")
    header, *rows = csv.reader(io.StringIO(text[1:], newline=""), delimiter=";")
    assert header[0] == "Numéro" and len(rows) == 4 and "106,80" in [row[9] for row in rows]

    page.goto(f"/backoffice/billing/subscriptions/{subscription.id}")
    page.locator("form[action$='/cancel'] button[type=submit]").click()
    page.wait_for_url("**/cancel")
    visit.check("confirm-cancellation")
    page.locator("button[name=confirmed]").click()
    page.wait_for_url(f"**/backoffice/billing/subscriptions/{subscription.id}")
    assert visit.t("The subscription is cancelled.") in page.locator(".flash").inner_text()
    visit.check("subscription-cancelled")
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status is SubscriptionStatus.CANCELLED
