"""Factur-X: every issued invoice and credit note is a PDF/A-3 carrying an EN 16931 XML that validates."""

import datetime as dt
import io

import facturx
import pytest
from pypdf import PdfReader

from tests import factories
from tests.billing.factories import START, make_invoice, make_subscription
from tests.billing.facturx_checks import embedded_xml, schematron_failures, values
from tests.billing.test_invoice_documents import issue_invoice_with_lines
from webapp.accounts.models import Role
from webapp.billing import payments, periods, stripe_sync
from webapp.billing.models import SubscriptionStatus
from webapp.extensions import db
from webapp.transaction import transaction

SETTLEMENT = "//ram:ApplicableHeaderTradeSettlement"
TOTALS = SETTLEMENT + "/ram:SpecifiedTradeSettlementHeaderMonetarySummation"


@pytest.fixture
def seller(app, monkeypatch):
    for key, value in dict(CARNET_SELLER_SIRET="73282932000074", CARNET_SELLER_VAT_NUMBER="FR44732829320",
                           CARNET_SELLER_ADDRESS="10 rue de la Santé, 75013 Paris",
                           CARNET_SELLER_IBAN="FR76 3000 6000 0112 3456 7890 189",
                           CARNET_SELLER_BIC="AGRIFRPP").items():
        monkeypatch.setitem(app.config, key, value)


def business_subscription():
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    subscription.billing_siret, subscription.billing_vat_number = "55208131766522", "FR38552081317"
    db.session.commit()
    return subscription


def test_invoice_xml_validates_and_matches_the_invoice(seller):
    invoice = make_invoice(business_subscription())
    xml = embedded_xml(invoice.document_pdf)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert (failures := schematron_failures(xml)) == [], "\n".join(failures)
    assert values(xml, "//rsm:ExchangedDocument/ram:ID/text()") == [invoice.number]
    assert values(xml, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["380"]
    assert values(xml, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()") \
        == ["urn:cen.eu:en16931:2017"]
    assert values(xml, "//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString/text()") == ["20260110"]
    assert values(xml, "//ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']/text()") \
        == ["732829320"]
    assert values(xml, "//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID/text()") == ["FR44732829320"]
    assert values(xml, "//ram:SellerTradeParty/ram:PostalTradeAddress/*/text()") \
        == ["75013", "10 rue de la Santé", "Paris", "FR"]
    assert values(xml, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']/text()") \
        == ["552081317"]
    assert values(xml, "//ram:BuyerTradeParty/ram:GlobalID[@schemeID='0009']/text()") == ["55208131766522"]
    assert values(xml, "//ram:BuyerTradeParty/ram:PostalTradeAddress/ram:PostcodeCode/text()") \
        == [invoice.buyer_postcode]
    assert values(xml, "//ram:BuyerTradeParty/ram:PostalTradeAddress/ram:CityName/text()") == [invoice.buyer_city]
    line = invoice.lines[0]
    assert values(xml, "//ram:BilledQuantity/text()") == [str(line.quantity)]
    assert values(xml, "//ram:NetPriceProductTradePrice/ram:ChargeAmount/text()") \
        == [f"{line.unit_price_ht_cents / 100:.2f}"]
    assert values(xml, TOTALS + "/ram:TaxBasisTotalAmount/text()") == [f"{invoice.total_ht_cents / 100:.2f}"]
    assert values(xml, TOTALS + "/ram:TaxTotalAmount/text()") == [f"{invoice.vat_cents / 100:.2f}"]
    assert values(xml, TOTALS + "/ram:GrandTotalAmount/text()") == [f"{invoice.total_ttc_cents / 100:.2f}"]
    assert values(xml, TOTALS + "/ram:DuePayableAmount/text()") == [f"{invoice.total_ttc_cents / 100:.2f}"]
    assert values(xml, SETTLEMENT + "/ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()") == ["58"]
    assert values(xml, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID/text()") \
        == ["FR7630006000011234567890189"]
    assert values(xml, "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString/text()") \
        == [f"{invoice.due_at:%Y%m%d}"]
    assert values(xml, "//ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString/text()") \
        == [f"{invoice.period_end - dt.timedelta(days=1):%Y%m%d}"]


def test_the_stored_document_is_a_pdf_a_3_with_the_xml_attached(seller):
    invoice = make_invoice(business_subscription())
    reader = PdfReader(io.BytesIO(invoice.document_pdf))
    metadata = reader.xmp_metadata.rdf_root.toxml()
    assert "<pdfaid:part>3</pdfaid:part>" in metadata and "<pdfaid:conformance>B</pdfaid:conformance>" in metadata
    assert "EN 16931" in metadata  # the Factur-X extension schema's ConformanceLevel
    assert list(reader.attachments) == ["factur-x.xml"]
    [intent] = reader.trailer["/Root"]["/OutputIntents"]
    assert intent.get_object()["/S"] == "/GTS_PDFA1"
    assert intent.get_object()["/DestOutputProfile"].get_object()["/N"] == 3


def test_two_rates_give_one_vat_breakdown_each(seller):
    invoice = issue_invoice_with_lines([("Abonnement", 1, 10000, 2000), ("Ouvrage", 2, 1000, 550)])
    xml = embedded_xml(invoice.document_pdf)
    assert (failures := schematron_failures(xml)) == [], "\n".join(failures)
    breakdown = SETTLEMENT + "/ram:ApplicableTradeTax"
    assert values(xml, breakdown + "/ram:RateApplicablePercent/text()") == ["5.50", "20.00"]
    assert values(xml, breakdown + "/ram:BasisAmount/text()") == ["20.00", "100.00"]
    assert values(xml, breakdown + "/ram:CalculatedAmount/text()") == ["1.10", "20.00"]
    assert values(xml, TOTALS + "/ram:GrandTotalAmount/text()") == ["141.10"]


def test_credit_note_xml_references_its_invoice_with_positive_amounts(seller):
    invoice = make_invoice(business_subscription())
    admin = factories.make_staff(role=Role.ADMIN)
    with transaction():
        credit = payments.issue_credit_note(invoice.id, actor=admin, reason="Erreur de tarif",
                                            now=START + dt.timedelta(days=3))
    xml = embedded_xml(credit.document_pdf)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert (failures := schematron_failures(xml)) == [], "\n".join(failures)
    assert values(xml, "//rsm:ExchangedDocument/ram:TypeCode/text()") == ["381"]
    assert values(xml, "//rsm:ExchangedDocument/ram:ID/text()") == [credit.number]
    assert values(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()") == [invoice.number]
    assert values(xml, "//ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime/qdt:DateTimeString/text()") \
        == ["20260110"]
    assert values(xml, TOTALS + "/ram:GrandTotalAmount/text()") == [f"{-credit.total_ttc_cents / 100:.2f}"]
    assert values(xml, TOTALS + "/ram:TaxTotalAmount/text()") == [f"{-credit.vat_cents / 100:.2f}"]
    assert values(xml, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID/text()") == ["552081317"]


def test_card_paid_invoice_says_card_and_nothing_left_to_pay(seller):
    stripe = make_subscription(status=SubscriptionStatus.ACTIVE)
    paid = stripe_sync.record_stripe_payment(stripe, stripe_invoice_id="in_test_fx", period_start=START,
                                             period_end=periods.add_months(START, 1), paid_at=START, now=START)
    db.session.commit()
    xml = embedded_xml(paid.document_pdf)
    assert (failures := schematron_failures(xml)) == [], "\n".join(failures)
    assert values(xml, SETTLEMENT + "/ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode/text()") == ["48"]
    assert values(xml, TOTALS + "/ram:TotalPrepaidAmount/text()") == [f"{paid.total_ttc_cents / 100:.2f}"]
    assert values(xml, TOTALS + "/ram:DuePayableAmount/text()") == ["0.00"]


def test_schematron_catches_a_broken_total(seller):
    # The check is real: a grand total that is not basis + VAT breaks BR-CO-15.
    invoice = make_invoice(business_subscription())
    xml = embedded_xml(invoice.document_pdf)
    grand = values(xml, TOTALS + "/ram:GrandTotalAmount/text()")[0]
    broken = xml.replace(f"<ram:GrandTotalAmount>{grand}<".encode(), b"<ram:GrandTotalAmount>1.00<")
    assert any(failure.startswith("BR-CO-15") for failure in schematron_failures(broken))
