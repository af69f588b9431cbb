"""Invoice documents: the PDF of one invoice, the CSV export of many.

Both are in the operator's language (French by default) whatever the reader's.
"""

import csv
import io

from flask import current_app
from flask_babel import force_locale, format_date, gettext
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from webapp.billing.models import Invoice, InvoiceKind
from webapp.billing.money import format_money, format_vat_rate
from webapp.billing.services import billing_timezone, invoice_status


def _local_date(moment) -> str:
    return format_date(moment.astimezone(billing_timezone()).date(), "long")


def invoice_pdf(invoice: Invoice) -> bytes:
    """An A4 PDF with seller, buyer, lines, HT, VAT rate and amount, TTC."""
    buffer = io.BytesIO()
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        canvas = Canvas(buffer, pagesize=A4, invariant=True)
        is_credit = invoice.kind is InvoiceKind.CREDIT_NOTE
        title = gettext("Credit note %(number)s", number=invoice.number) if is_credit \
            else gettext("Invoice %(number)s", number=invoice.number)
        canvas.setTitle(title)
        width, height = A4
        left, right, y = 20 * mm, width - 20 * mm, height - 25 * mm

        def text(x, line, size=10, bold=False, align="left"):
            canvas.setFont("Helvetica-Bold" if bold else "Helvetica", size)
            draw = canvas.drawRightString if align == "right" else canvas.drawString
            draw(x, y, line)

        text(left, title, size=16, bold=True)
        y -= 8 * mm
        text(left, gettext("Issued on %(date)s", date=_local_date(invoice.issued_at)))
        if is_credit:
            y -= 5 * mm
            text(left, gettext("Cancels invoice %(number)s", number=invoice.credit_of.number))
            y -= 5 * mm
            text(left, gettext("Reason: %(reason)s", reason=invoice.reason))
        else:
            y -= 5 * mm
            text(left, gettext("Due by %(date)s", date=_local_date(invoice.due_at)))
        y -= 12 * mm
        top = y
        for x, heading, lines in (
            (left, gettext("Seller"), [invoice.seller_name, invoice.seller_address,
                                       f"SIRET {invoice.seller_siret}",
                                       gettext("VAT number %(number)s", number=invoice.seller_vat_number)]),
            (width / 2, gettext("Customer"), [invoice.buyer_name, invoice.buyer_address,
                                              invoice.buyer_identifier or ""]),
        ):
            y = top
            text(x, heading, bold=True)
            for line in lines:
                y -= 5 * mm
                text(x, line)
        y -= 15 * mm
        columns = [(left, gettext("Description"), "left"), (right - 75 * mm, gettext("Qty"), "right"),
                   (right - 50 * mm, gettext("Unit price excl. VAT"), "right"),
                   (right - 25 * mm, gettext("VAT"), "right"), (right, gettext("Total excl. VAT"), "right")]
        for x, heading, align in columns:
            text(x, heading, bold=True, size=9, align=align)
        canvas.line(left, y - 2 * mm, right, y - 2 * mm)
        for line in invoice.lines:
            y -= 7 * mm
            text(left, line.description[:70], size=9)
            for (x, _, align), value in zip(columns[1:], (
                str(line.quantity), format_money(line.unit_price_ht_cents, invoice.currency),
                format_vat_rate(line.vat_rate_bp), format_money(line.total_ht_cents, invoice.currency),
            )):
                text(x, value, size=9, align=align)
        y -= 12 * mm
        rates = sorted({line.vat_rate_bp for line in invoice.lines})
        for label, amount, bold in (
            (gettext("Total excl. VAT"), invoice.total_ht_cents, False),
            (gettext("VAT %(rate)s", rate=", ".join(format_vat_rate(rate) for rate in rates)), invoice.vat_cents, False),
            (gettext("Total incl. VAT"), invoice.total_ttc_cents, True),
        ):
            text(right - 45 * mm, label, bold=bold, align="right")
            text(right, format_money(amount, invoice.currency), bold=bold, align="right")
            y -= 6 * mm
        y -= 6 * mm
        if invoice.payments:
            payment = invoice.payments[0]
            text(left, gettext("Paid on %(date)s (%(reference)s).",
                               date=format_date(payment.paid_on, "long"), reference=payment.reference))
        elif not is_credit:
            config = current_app.config
            text(left, gettext("Payment by bank transfer: IBAN %(iban)s, BIC %(bic)s, reference %(number)s.",
                               iban=config["CARNET_SELLER_IBAN"], bic=config["CARNET_SELLER_BIC"],
                               number=invoice.number), size=9)
        canvas.showPage()
        canvas.save()
    return buffer.getvalue()


CSV_COLUMNS = ["number", "kind", "issued_at", "due_at", "buyer", "buyer_identifier", "total_ht_cents",
               "vat_rate", "vat_cents", "total_ttc_cents", "currency", "status", "credit_of", "paid_on",
               "payment_reference"]


def _cell(value) -> str:
    # A spreadsheet would run a cell starting with these as a formula.
    value = "" if value is None else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not value.lstrip("-").isdigit() else value


def invoices_csv(invoices) -> str:
    """One row per invoice or credit note; amounts in cents, times in UTC."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for invoice in invoices:
        payment = invoice.payments[0] if invoice.payments else None
        rates = sorted({line.vat_rate_bp / 100 for line in invoice.lines})
        writer.writerow([_cell(value) for value in (
            invoice.number, invoice.kind.value, invoice.issued_at.isoformat(), invoice.due_at.isoformat(),
            invoice.buyer_name, invoice.buyer_identifier, invoice.total_ht_cents,
            " ".join(f"{rate:g}" for rate in rates), invoice.vat_cents, invoice.total_ttc_cents, invoice.currency,
            invoice_status(invoice), invoice.credit_of.number if invoice.credit_of else "",
            payment.paid_on.isoformat() if payment else "", payment.reference if payment else "",
        )])
    return buffer.getvalue()
