"""The operator's back office records a transfer received for an open invoice."""

import pytest
import sqlalchemy as sa

from tests import factories
from tests.billing.factories import make_active_subscription
from tests.e2e.conftest import log_in
from webapp.accounts.models import Role
from webapp.billing import services
from webapp.billing.models import Invoice
from webapp.extensions import db

pytestmark = pytest.mark.browser


def test_back_office_marks_an_invoice_paid(open_visit, locale):
    subscription = make_active_subscription(factories.make_practitioner(last_name="Rousseau"))
    invoice = db.session.scalar(sa.select(Invoice).where(Invoice.subscription_id == subscription.id))
    operator = factories.make_staff(role=Role.ADMIN, locale=locale)
    visit = open_visit()
    log_in(visit, operator)
    page = visit.page

    page.goto("/backoffice/billing")
    visit.check("dashboard")
    page.goto("/backoffice/billing/invoices?status=open")
    visit.check("invoices")
    page.locator(f"main table a[href$='/invoices/{invoice.id}']").click()
    page.wait_for_url("**/backoffice/billing/invoices/*")
    visit.check("invoice-open")
    page.select_option("#method", "bank_transfer")
    page.fill("#paid_on", "2026-02-03")
    page.fill("#reference", "VIR-2026-0042")
    page.locator("form[action$='/mark-paid'] button[type=submit]").click()
    assert visit.t("The payment is recorded.") in page.locator(".flash").inner_text()
    assert "VIR-2026-0042" in page.locator("dl.facts").inner_text()
    visit.check("invoice-paid")
    db.session.expire_all()
    assert services.invoice_status(invoice) == "paid"
