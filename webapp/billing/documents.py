"""Invoice documents: the CSV export of many invoices.

The PDF of one invoice is rendered once, at issue (`invoice_pdf`), and
stored on the invoice (`invoicing.store_invoice_document`).
"""

import csv
import io
import re

from webapp.billing.payments import invoice_status

CSV_COLUMNS = ["number", "kind", "issued_at", "due_at", "buyer", "buyer_identifier", "total_ht_cents",
               "vat_rate", "vat_cents", "total_ttc_cents", "currency", "status", "credit_of", "paid_on",
               "payment_reference"]


NUMBER = re.compile(r"^-?\d+([.,]\d+)?$")


def safe_cell(value) -> str:
    """The value as text; one a spreadsheet would run as a formula (starting
    with = + - @ or a control character, but not a negative number) is
    quoted with an apostrophe."""
    value = "" if value is None else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not NUMBER.match(value) else value


def invoices_csv(invoices) -> str:
    """One row per invoice or credit note; amounts in cents, times in UTC."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for invoice in invoices:
        payment = invoice.payments[0] if invoice.payments else None
        rates = sorted({line.vat_rate_bp / 100 for line in invoice.lines})
        writer.writerow([safe_cell(value) for value in (
            invoice.number, invoice.kind.value, invoice.issued_at.isoformat(), invoice.due_at.isoformat(),
            invoice.buyer_name, invoice.buyer_identifier, invoice.total_ht_cents,
            " ".join(f"{rate:g}" for rate in rates), invoice.vat_cents, invoice.total_ttc_cents, invoice.currency,
            invoice_status(invoice), invoice.credit_of.number if invoice.credit_of else "",
            payment.paid_on.isoformat() if payment else "", payment.reference if payment else "",
        )])
    return buffer.getvalue()
