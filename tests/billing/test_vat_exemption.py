"""0 % VAT: a seller under the franchise en base (CGI art. 293 B) and exempt lines are category E in the
Factur-X XML, with their reason; the PDF prints the legal mention; the Schematron passes."""

import datetime as dt

import facturx
import pytest

from config import ConfigurationError
from tests import factories
from tests.billing.factories import START, make_invoice, make_subscription
from tests.billing.facturx_checks import embedded_xml, schematron_failures, values
from tests.billing.pdf_reading import pdf_text
from tests.billing.test_invoice_documents import issue_invoice_with_lines
from webapp import create_app
from webapp.accounts.models import Role
from webapp.billing import payments
from webapp.billing.models import SubscriptionStatus
from webapp.transaction import transaction

MENTION = "TVA non applicable, art. 293 B du CGI"
BREAKDOWN = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax"
LINE_TAX = "//ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax"
TOTALS = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation"


@pytest.fixture
def franchise(app, monkeypatch):
    monkeypatch.setitem(app.config, "CARNET_VAT_FRANCHISE", True)
    monkeypatch.setitem(app.config, "CARNET_SELLER_VAT_NUMBER", "FR44732829320")


def assert_valid(xml: bytes) -> None:
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert (failures := schematron_failures(xml)) == [], "\n".join(failures)


def test_franchise_invoice_is_exempt_with_the_293_b_mention(franchise):
    invoice = make_invoice(make_subscription(status=SubscriptionStatus.ACTIVE))
    assert invoice.vat_cents == 0 and invoice.total_ttc_cents == invoice.total_ht_cents > 0
    assert (invoice.vat_exemption_code, invoice.vat_exemption_reason) == ("VATEX-FR-FRANCHISE", MENTION)
    xml = embedded_xml(invoice.document_pdf)
    assert_valid(xml)
    assert values(xml, LINE_TAX + "/ram:CategoryCode/text()") == ["E"]
    assert values(xml, LINE_TAX + "/ram:RateApplicablePercent/text()") == ["0.00"]
    assert values(xml, BREAKDOWN + "/ram:CategoryCode/text()") == ["E"]
    assert values(xml, BREAKDOWN + "/ram:ExemptionReason/text()") == [MENTION]
    assert values(xml, BREAKDOWN + "/ram:ExemptionReasonCode/text()") == ["VATEX-FR-FRANCHISE"]
    assert values(xml, BREAKDOWN + "/ram:CalculatedAmount/text()") == ["0.00"]
    assert values(xml, TOTALS + "/ram:TaxTotalAmount/text()") == ["0.00"]
    assert MENTION in pdf_text(invoice.document_pdf)


def test_franchise_credit_note_keeps_the_exemption_of_its_invoice(franchise, app, monkeypatch):
    invoice = make_invoice(make_subscription(status=SubscriptionStatus.ACTIVE))
    monkeypatch.setitem(app.config, "CARNET_VAT_FRANCHISE", False)  # left the franchise since
    with transaction():
        credit = payments.issue_credit_note(invoice.id, actor=factories.make_staff(role=Role.ADMIN),
                                            reason="Erreur", now=START + dt.timedelta(days=2))
    assert credit.vat_exemption_code == "VATEX-FR-FRANCHISE"
    xml = embedded_xml(credit.document_pdf)
    assert_valid(xml)
    assert values(xml, BREAKDOWN + "/ram:ExemptionReasonCode/text()") == ["VATEX-FR-FRANCHISE"]
    assert MENTION in pdf_text(credit.document_pdf)


def test_an_exempt_line_beside_a_standard_one_gets_its_own_breakdown(app, monkeypatch):
    monkeypatch.setitem(app.config, "CARNET_VAT_EXEMPTION_REASON", "Exonération de TVA, art. 261-4-4° du CGI")
    monkeypatch.setitem(app.config, "CARNET_VAT_EXEMPTION_CODE", "VATEX-FR-CGI261-4")
    invoice = issue_invoice_with_lines([("Abonnement", 1, 10000, 2000), ("Formation", 1, 5000, 0)])
    xml = embedded_xml(invoice.document_pdf)
    assert_valid(xml)
    assert values(xml, LINE_TAX + "/ram:CategoryCode/text()") == ["S", "E"]
    assert values(xml, BREAKDOWN + "/ram:CategoryCode/text()") == ["E", "S"]
    assert values(xml, BREAKDOWN + "/ram:ExemptionReasonCode/text()") == ["VATEX-FR-CGI261-4"]
    assert values(xml, BREAKDOWN + "/ram:BasisAmount/text()") == ["50.00", "100.00"]
    text = pdf_text(invoice.document_pdf)
    assert "Exonération de TVA, art. 261-4-4° du CGI" in text and MENTION not in text


def test_a_standard_rate_invoice_has_no_exemption():
    invoice = make_invoice()
    assert invoice.vat_exemption_code is None and invoice.vat_exemption_reason is None
    xml = embedded_xml(invoice.document_pdf)
    assert values(xml, "//ram:ExemptionReason/text()") == []
    assert values(xml, BREAKDOWN + "/ram:CategoryCode/text()") == ["S"]
    assert MENTION not in pdf_text(invoice.document_pdf)


def test_the_schematron_refuses_a_zero_rate_standard_category(franchise):
    # What the XML said before: a 0 % line in category S breaks the EN 16931 rules.
    xml = embedded_xml(make_invoice(make_subscription(status=SubscriptionStatus.ACTIVE)).document_pdf)
    as_standard = xml.replace(b"<ram:CategoryCode>E</ram:CategoryCode>", b"<ram:CategoryCode>S</ram:CategoryCode>")
    assert any(failure.startswith("BR-S-") for failure in schematron_failures(as_standard))


def test_a_zero_rate_without_franchise_or_reason_refuses_to_start(monkeypatch):
    monkeypatch.setenv("CARNET_VAT_RATE", "0")
    with pytest.raises(ConfigurationError, match="CARNET_VAT_EXEMPTION_REASON"):
        create_app()
