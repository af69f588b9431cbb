"""The PDF of one invoice or credit note, with the mentions French law requires.

Code de commerce L441-9 and CGI art. 242 nonies A: number and date, seller
and buyer identities (SIREN/SIRET, VAT numbers, addresses), the service and
its period, quantity, unit price HT, VAT per rate, totals, due date, payment
terms, the late-payment penalty rate, the 40 € recovery indemnity and the
discount condition. The document is in the operator's language (French by
default) and is rendered once, at issue: `invoicing.store_invoice_document`.
Fonts are embedded (DejaVu): Babel's narrow no-break space and € need them.
"""

import datetime as dt
import functools
import io
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale, format_date, gettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from webapp.billing.models import Invoice, InvoiceKind
from webapp.billing.money import vat_breakdown
from webapp.billing.vat_exemption import exemption_of
from webapp.template_filters import money as format_amount
from webapp.template_filters import vat_rate

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core
FONT, BOLD_FONT = "DejaVuSans", "DejaVuSans-Bold"
# The fixed indemnity for recovery costs owed by a late professional payer (Code de commerce D441-5).
RECOVERY_INDEMNITY_CENTS = 4000
MARGIN = 18 * mm


@functools.cache
def register_fonts() -> None:
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD_FONT, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD_FONT, italic=FONT, boldItalic=BOLD_FONT)


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10.5),
        "title": ParagraphStyle("title", parent=body, fontName=BOLD_FONT, fontSize=16, leading=20, spaceAfter=4),
        "heading": ParagraphStyle("heading", parent=body, fontName=BOLD_FONT),
    }


def _text(value) -> str:
    # Paragraphs break lines at U+202F (Babel's thousands separator): a no-break space keeps an amount whole.
    return escape(str(value), quote=False).replace("\u202f", "\u00a0")


def _block(lines) -> str:
    """Lines joined for one Paragraph; empty lines (unset optional mentions) left out."""
    return "<br/>".join(_text(line) for line in lines if line)


def _siren(siret: str | None) -> str | None:
    return siret[:9] if siret and len(siret) >= 9 else None


def _seller_lines(invoice: Invoice, config) -> list[str]:
    siren = _siren(invoice.seller_siret)
    return [
        invoice.seller_name, config["CARNET_SELLER_LEGAL_FORM"], invoice.seller_address,
        gettext("SIREN %(siren)s", siren=siren) if siren else None,
        gettext("SIRET %(siret)s", siret=invoice.seller_siret), config["CARNET_SELLER_REGISTRATION"],
        gettext("VAT number %(number)s", number=invoice.seller_vat_number) if invoice.seller_vat_number else None,
    ]


def _buyer_lines(invoice: Invoice) -> list[str]:
    if invoice.buyer_street is not None:
        address = [invoice.buyer_street, f"{invoice.buyer_postcode} {invoice.buyer_city}"]
    else:
        address = [invoice.buyer_address]  # issued before the address was kept in parts
    siret = invoice.buyer_siret
    return [
        invoice.buyer_name, *address,
        gettext("SIREN %(siren)s", siren=_siren(siret)) if siret and len(siret) == 14 else None,
        (gettext("SIRET %(siret)s", siret=siret) if len(siret) == 14 else gettext("SIREN %(siren)s", siren=siret))
        if siret else None,
        gettext("VAT number %(number)s", number=invoice.buyer_vat_number) if invoice.buyer_vat_number else None,
        invoice.buyer_identifier if invoice.buyer_identifier and not invoice.buyer_identifier.startswith("SIRET")
        else None,
    ]


def _table(rows, widths, *, header=True, grid=True, right_from=1, bold_last=False) -> Table:
    """Cells are Paragraphs (wrapped) or plain strings, drawn as they are: amounts
    keep their U+202F and never wrap. Columns from `right_from` align right."""
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 3),
             ("RIGHTPADDING", (0, 0), (-1, -1), 3), ("FONTNAME", (0, 0), (-1, -1), FONT),
             ("FONTSIZE", (0, 0), (-1, -1), 9), ("LEADING", (0, 0), (-1, -1), 12),
             ("ALIGN", (right_from, 0), (-1, -1), "RIGHT")]
    if header:
        style += [("FONTNAME", (0, 0), (-1, 0), BOLD_FONT), ("FONTSIZE", (0, 0), (-1, 0), 8)]
    if bold_last:
        style.append(("FONTNAME", (0, -1), (-1, -1), BOLD_FONT))
    if grid:
        style += [("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                  ("LINEBELOW", (0, -1), (-1, -1), 0.25, colors.grey)]
    table.setStyle(TableStyle(style))
    return table


def render_invoice_pdf(invoice: Invoice, *, tz: ZoneInfo) -> bytes:
    """An A4 PDF of the invoice as issued: the same input gives the same bytes."""
    register_fonts()
    config = current_app.config
    buffer = io.BytesIO()
    with force_locale(config["BABEL_DEFAULT_LOCALE"]):
        is_credit = invoice.kind is InvoiceKind.CREDIT_NOTE
        title = gettext("Credit note %(number)s", number=invoice.number) if is_credit \
            else gettext("Invoice %(number)s", number=invoice.number)
        document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
                                     topMargin=MARGIN, bottomMargin=MARGIN, title=title,
                                     author=invoice.seller_name, invariant=True, initialFontName=FONT)
        width = A4[0] - 2 * MARGIN
        styles = _styles()
        body = styles["body"]

        def local_date(moment) -> str:
            return format_date(moment.astimezone(tz).date(), "long")

        def money(cents: int) -> str:
            return format_amount(cents, invoice.currency)

        facts = [gettext("Issued on %(date)s", date=local_date(invoice.issued_at))]
        if is_credit:
            facts += [gettext("Credit note on invoice %(number)s of %(date)s", number=invoice.credit_of.number,
                              date=local_date(invoice.credit_of.issued_at)),
                      gettext("Reason: %(reason)s", reason=invoice.reason)]
        else:
            facts.append(gettext("Due by %(date)s", date=local_date(invoice.due_at)))
        story = [Paragraph(_text(title), styles["title"]), Paragraph(_block(facts), body), Spacer(0, 6 * mm)]

        parties = [[Paragraph(_text(gettext("Seller")), styles["heading"]),
                    Paragraph(_text(gettext("Customer")), styles["heading"])],
                   [Paragraph(_block(_seller_lines(invoice, config)), body),
                    Paragraph(_block(_buyer_lines(invoice)), body)]]
        story += [_table(parties, [width / 2, width / 2], grid=False), Spacer(0, 6 * mm)]

        period = invoice.period_start and invoice.period_end
        if period:
            story.append(Paragraph(_text(gettext(
                "Service period: from %(start)s to %(end)s", start=local_date(invoice.period_start),
                # The period ends at midnight: its last day is the day before.
                end=local_date(invoice.period_end - dt.timedelta(days=1)))), body))
            story.append(Spacer(0, 3 * mm))

        lines = [[gettext("Description"), gettext("Qty"), gettext("Unit price excl. VAT"), gettext("VAT rate"),
                  gettext("Total excl. VAT")]]
        for line in invoice.lines:
            lines.append([Paragraph(_text(line.description), body), str(line.quantity),
                          money(line.unit_price_ht_cents), vat_rate(line.vat_rate_bp),
                          money(line.total_ht_cents)])
        story += [_table(lines, [width - 106 * mm, 14 * mm, 32 * mm, 24 * mm, 36 * mm]), Spacer(0, 5 * mm)]

        # VAT per rate (CGI art. 242 nonies A), then the totals, under the lines.
        vat = [[gettext("VAT rate"), gettext("Base excl. VAT"), gettext("VAT amount")]]
        vat += [[vat_rate(subtotal.vat_rate_bp), money(subtotal.base_ht_cents), money(subtotal.vat_cents)]
                for subtotal in vat_breakdown(invoice.lines)]
        story += [_table(vat, [24 * mm, 36 * mm, 36 * mm], right_from=0), Spacer(0, 4 * mm)]
        totals = [[gettext("Total excl. VAT"), money(invoice.total_ht_cents)],
                  [gettext("Total VAT"), money(invoice.vat_cents)],
                  [gettext("Total incl. VAT"), money(invoice.total_ttc_cents)]]
        story.append(_table(totals, [60 * mm, 36 * mm], header=False, grid=False, right_from=0, bold_last=True))
        # Why the 0 % lines carry no VAT (CGI art. 242 nonies A, I-13°): "TVA non applicable, art. 293 B du CGI".
        _, exemption_reason = exemption_of(invoice, config)
        if exemption_reason:
            story += [Spacer(0, 2 * mm), Paragraph(_text(exemption_reason), styles["heading"])]
        story.append(Spacer(0, 6 * mm))

        story.append(Paragraph(_block(_payment_lines(invoice, config, local_date, money, is_credit)), body))
        if not is_credit:
            story += [Spacer(0, 4 * mm), Paragraph(_block([
                gettext("Late payment penalties: %(rate)s, due from the day after the due date "
                        "(Code de commerce L441-10).", rate=config["CARNET_LATE_PENALTY_RATE"]),
                gettext("Fixed indemnity for recovery costs owed by a professional in case of late payment: "
                        "%(amount)s (Code de commerce L441-10 and D441-5).", amount=money(RECOVERY_INDEMNITY_CENTS)),
                gettext("No discount for early payment."),
            ]), styles["small"])]
        document.build(story)
    return buffer.getvalue()


def _payment_lines(invoice: Invoice, config, local_date, money, is_credit: bool) -> list[str]:
    """How the invoice is paid, as known at issue (a card payment collected by Stripe is)."""
    if is_credit:
        return [gettext("Amount credited: %(amount)s.", amount=money(-invoice.total_ttc_cents))]
    terms = gettext("Payment terms: %(days)s days from the invoice date, due by %(date)s.",
                    days=(invoice.due_at.date() - invoice.issued_at.date()).days, date=local_date(invoice.due_at))
    if invoice.payments:
        payment = invoice.payments[0]
        return [terms, gettext("Paid on %(date)s (%(reference)s).",
                               date=format_date(payment.paid_on, "long"), reference=payment.reference)]
    return [terms, gettext("Payment by bank transfer: IBAN %(iban)s, BIC %(bic)s, reference %(number)s.",
                           iban=config["CARNET_SELLER_IBAN"], bic=config["CARNET_SELLER_BIC"],
                           number=invoice.number)]
