"""Factur-X: the EN 16931 (CII) XML of an invoice or credit note, embedded in its PDF.

The XML is built from the invoice as issued (seller, buyer, lines, VAT per
rate, totals), never from today's configuration, except the payment means
that the PDF prints at the same moment. `embed_facturx_xml` turns the
rendered PDF into a PDF/A-3 carrying `factur-x.xml` (the `factur-x` package).
A credit note (TypeCode 381) states its amounts as positive values, as
EN 16931 expects; Carnet stores them negative.
"""

import datetime as dt
import functools
import io
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import facturx
from lxml import etree
from PIL import ImageCms
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, StreamObject, TextStringObject

from webapp.billing.models import Invoice, InvoiceKind, PaymentMethod, ProviderName
from webapp.billing.money import vat_breakdown
from webapp.billing.vat_exemption import EXEMPT, vat_category

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
TYPE_CODES = {InvoiceKind.INVOICE: "380", InvoiceKind.CREDIT_NOTE: "381"}
SEPA_CREDIT_TRANSFER, PAYMENT_CARD = "58", "48"
SIREN_SCHEME, SIRET_SCHEME = "0002", "0009"  # ISO 6523 ICD: INSEE's SIREN and SIRET
# "10 rue de la Santé, 75013 Paris": the configured seller address, street then postcode and city.
ADDRESS_PATTERN = re.compile(r"^(?P<street>.+),\s*(?P<postcode>\d{5})\s+(?P<city>.+)$")


def _el(parent, tag: str, text=None, **attributes):
    prefix, name = tag.split(":")
    element = etree.SubElement(parent, f"{{{NSMAP[prefix]}}}{name}", attributes)
    if text is not None:
        element.text = str(text)
    return element


def _amount(cents: int, sign: int) -> str:
    return str((Decimal(cents * sign) / 100).quantize(Decimal("0.01")))


def _rate(vat_rate_bp: int) -> str:
    return str((Decimal(vat_rate_bp) / 100).quantize(Decimal("0.01")))


def _date(parent, tag: str, day: dt.date, *, qualified: bool = False) -> None:
    holder = _el(parent, tag)
    _el(holder, "qdt:DateTimeString" if qualified else "udt:DateTimeString", day.strftime("%Y%m%d"), format="102")


def _party(parent, tag: str, *, name: str, siret: str | None, vat_number: str | None,
           street: str | None, postcode: str | None, city: str | None, country: str) -> None:
    party = _el(parent, tag)
    if siret and len(siret) == 14:
        _el(party, "ram:GlobalID", siret, schemeID=SIRET_SCHEME)
    _el(party, "ram:Name", name)
    if siret and len(siret) >= 9:
        _el(_el(party, "ram:SpecifiedLegalOrganization"), "ram:ID", siret[:9], schemeID=SIREN_SCHEME)
    address = _el(party, "ram:PostalTradeAddress")
    if postcode:
        _el(address, "ram:PostcodeCode", postcode)
    if street:
        _el(address, "ram:LineOne", street)
    if city:
        _el(address, "ram:CityName", city)
    _el(address, "ram:CountryID", country)
    if vat_number:
        _el(_el(party, "ram:SpecifiedTaxRegistration"), "ram:ID", vat_number, schemeID="VA")


def _seller_address(invoice: Invoice) -> dict:
    match = ADDRESS_PATTERN.match(invoice.seller_address.strip())
    if match is None:
        return dict(street=invoice.seller_address, postcode=None, city=None)
    return match.groupdict()


def _buyer_address(invoice: Invoice) -> dict:
    if invoice.buyer_street is None:  # issued before the address was kept in parts
        return dict(street=invoice.buyer_address, postcode=None, city=None, country="FR")
    return dict(street=invoice.buyer_street, postcode=invoice.buyer_postcode, city=invoice.buyer_city,
                country=invoice.buyer_country or "FR")


def build_invoice_xml(invoice: Invoice, *, tz: ZoneInfo, iban: str | None = None, bic: str | None = None,
                      exemption: tuple[str | None, str | None] = (None, None)) -> bytes:
    """The Factur-X EN 16931 XML of an issued invoice or credit note.

    A line's VAT category is S (standard rate) or, at 0 %, E (exempt), whose
    breakdown carries `exemption`: the VATEX code (BT-121) and the reason
    (BT-120) as printed, e.g. VATEX-FR-FRANCHISE, "TVA non applicable, art.
    293 B du CGI" (`vat_exemption`).

    `iban`/`bic` give the SEPA credit transfer (58) of a manual-provider
    invoice; an invoice of a Stripe subscription, or paid by card at issue, is
    paid by card (48).
    Amounts are those stored on the invoice and its lines, sign-flipped for
    a credit note; dates are days in the operator's timezone `tz`.
    """

    def day(moment: dt.datetime) -> dt.date:
        return moment.astimezone(tz).date()

    is_credit = invoice.kind is InvoiceKind.CREDIT_NOTE
    sign = -1 if is_credit else 1
    currency = invoice.currency
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    context = _el(root, "rsm:ExchangedDocumentContext")
    _el(_el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", EN16931_GUIDELINE)

    document = _el(root, "rsm:ExchangedDocument")
    _el(document, "ram:ID", invoice.number)
    _el(document, "ram:TypeCode", TYPE_CODES[invoice.kind])
    _date(document, "ram:IssueDateTime", day(invoice.issued_at))
    if is_credit and invoice.reason:
        _el(_el(document, "ram:IncludedNote"), "ram:Content", invoice.reason)

    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for position, line in enumerate(invoice.lines, start=1):
        item = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", position)
        _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.description)
        price = _el(_el(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
        # A credit note's lines keep the unit price and negate the quantity: both become positive here.
        _el(price, "ram:ChargeAmount", _amount(line.unit_price_ht_cents, 1))
        # C62: "one", a unit of service (UN/ECE Recommendation 20).
        _el(_el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", line.quantity * sign, unitCode="C62")
        settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:CategoryCode", vat_category(line.vat_rate_bp))
        _el(tax, "ram:RateApplicablePercent", _rate(line.vat_rate_bp))
        _el(_el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"), "ram:LineTotalAmount",
            _amount(line.total_ht_cents, sign))

    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    _party(agreement, "ram:SellerTradeParty", name=invoice.seller_name, siret=invoice.seller_siret,
           vat_number=invoice.seller_vat_number, country="FR", **_seller_address(invoice))
    _party(agreement, "ram:BuyerTradeParty", name=invoice.buyer_name, siret=invoice.buyer_siret,
           vat_number=invoice.buyer_vat_number, **_buyer_address(invoice))

    # The service is delivered over the billing period (below); the delivery date is the issue date of
    # the invoice, or of the credited invoice for a credit note (an empty element breaks PEPPOL-EN16931-R008).
    delivered = invoice.credit_of.issued_at if is_credit else invoice.issued_at
    _date(_el(_el(transaction, "ram:ApplicableHeaderTradeDelivery"), "ram:ActualDeliverySupplyChainEvent"),
          "ram:OccurrenceDateTime", day(delivered))

    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    _el(settlement, "ram:PaymentReference", invoice.number)
    _el(settlement, "ram:InvoiceCurrencyCode", currency)
    if not is_credit:
        if invoice.subscription.provider is ProviderName.STRIPE or any(
                payment.method is PaymentMethod.CARD for payment in invoice.payments):
            _el(_el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans"), "ram:TypeCode", PAYMENT_CARD)
        elif iban:
            means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
            _el(means, "ram:TypeCode", SEPA_CREDIT_TRANSFER)
            _el(_el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", iban.replace(" ", ""))
            if bic:
                _el(_el(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", bic.replace(" ", ""))
    for subtotal in vat_breakdown(invoice.lines):
        tax = _el(settlement, "ram:ApplicableTradeTax")
        category = vat_category(subtotal.vat_rate_bp)
        exemption_code, exemption_reason = exemption if category == EXEMPT else (None, None)
        # The schema's order: amount, type, reason text, basis, category, reason code, rate.
        _el(tax, "ram:CalculatedAmount", _amount(subtotal.vat_cents, sign))
        _el(tax, "ram:TypeCode", "VAT")
        if exemption_reason:
            _el(tax, "ram:ExemptionReason", exemption_reason)
        _el(tax, "ram:BasisAmount", _amount(subtotal.base_ht_cents, sign))
        _el(tax, "ram:CategoryCode", category)
        if exemption_code:
            _el(tax, "ram:ExemptionReasonCode", exemption_code)
        _el(tax, "ram:RateApplicablePercent", _rate(subtotal.vat_rate_bp))
    if invoice.period_start is not None and invoice.period_end is not None:
        period = _el(settlement, "ram:BillingSpecifiedPeriod")
        _date(period, "ram:StartDateTime", day(invoice.period_start))
        # The period ends at midnight: its last day is the day before.
        _date(period, "ram:EndDateTime", day(invoice.period_end) - dt.timedelta(days=1))
    terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
    if is_credit:
        _el(terms, "ram:Description", f"Avoir sur la facture {invoice.credit_of.number}")
    else:
        days = (invoice.due_at.date() - invoice.issued_at.date()).days
        _el(terms, "ram:Description", f"Paiement à {days} jours, au plus tard le {day(invoice.due_at):%d/%m/%Y}")
        _date(terms, "ram:DueDateDateTime", day(invoice.due_at))

    prepaid = sum(payment.amount_cents for payment in invoice.payments) if not is_credit else 0
    summation = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(summation, "ram:LineTotalAmount", _amount(invoice.total_ht_cents, sign))
    _el(summation, "ram:TaxBasisTotalAmount", _amount(invoice.total_ht_cents, sign))
    _el(summation, "ram:TaxTotalAmount", _amount(invoice.vat_cents, sign), currencyID=currency)
    _el(summation, "ram:GrandTotalAmount", _amount(invoice.total_ttc_cents, sign))
    if prepaid:
        _el(summation, "ram:TotalPrepaidAmount", _amount(prepaid, sign))
    _el(summation, "ram:DuePayableAmount", _amount(invoice.total_ttc_cents - prepaid, sign))
    if is_credit:
        reference = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(reference, "ram:IssuerAssignedID", invoice.credit_of.number)
        _date(reference, "ram:FormattedIssueDateTime", day(invoice.credit_of.issued_at), qualified=True)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def embed_facturx_xml(pdf: bytes, xml: bytes, *, invoice: Invoice) -> bytes:
    """The PDF/A-3 of `pdf` with `xml` attached as factur-x.xml (checked against the EN 16931 XSD first)."""
    metadata = {"author": invoice.seller_name, "keywords": "Factur-X", "subject": invoice.number,
                "title": invoice.number}
    pdf_a = facturx.generate_from_binary(pdf, xml, flavor="factur-x", level="en16931", check_xsd=True,
                                         pdf_metadata=metadata, lang="fr-FR")
    return _with_srgb_output_intent(pdf_a)


@functools.cache
def _srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _with_srgb_output_intent(pdf: bytes) -> bytes:
    """PDF/A wants an output intent for the device colours reportlab draws with (the library adds none)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    profile = StreamObject()
    profile.set_data(_srgb_profile())
    profile[NameObject("/N")] = NumberObject(3)
    intent = DictionaryObject({
        NameObject("/Type"): NameObject("/OutputIntent"), NameObject("/S"): NameObject("/GTS_PDFA1"),
        NameObject("/OutputConditionIdentifier"): TextStringObject("sRGB"),
        NameObject("/Info"): TextStringObject("sRGB IEC61966-2.1"),
        NameObject("/DestOutputProfile"): writer._add_object(profile),
    })
    writer.root_object[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
