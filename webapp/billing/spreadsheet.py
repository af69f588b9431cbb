"""The invoices as a CSV file that French spreadsheets open as a table.

French Excel and LibreOffice read a CSV with the system's list separator
(";" in France) and decimal comma, and take it as UTF-8 only after a byte
order mark. So: ";" between cells, a UTF-8 BOM, CRLF line ends; amounts in
euros with a comma and no thousands separator ("1234,56", "-89,00"): French
Excel reads those as numbers, while "1 234,56" is a number only when the
space is the system's own (U+00A0 or U+202F, depending on the Windows
version), and text otherwise. Dates are dd/mm/yyyy in the operator's
timezone; headers and labels are in the operator's language (French).
The machine format (cents, ISO dates, ",") stays `documents.invoices_csv`.
"""

import csv
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from webapp.billing.documents import safe_cell
from webapp.billing.models import InvoiceKind
from webapp.billing.payments import invoice_status

BOM = "\ufeff"
FILENAME = "carnet-factures.csv"
COLUMNS = [
    _l("Number"), _l("Type"), _l("Issue date"), _l("Due date"), _l("Customer"), _l("Customer identifier"),
    _l("Total excl. VAT (€)"), _l("VAT rate (%)"), _l("VAT (€)"), _l("Total incl. VAT (€)"), _l("Currency"),
    _l("Status"), _l("Credit note on invoice"), _l("Paid on"), _l("Payment reference"),
]
KINDS = {InvoiceKind.INVOICE: _l("Invoice"), InvoiceKind.CREDIT_NOTE: _l("Credit note")}
STATUSES = {"open": _l("To be paid"), "paid": _l("Paid"), "credited": _l("Cancelled by a credit note"),
            "issued": _l("Credit note")}


def euros(cents: int) -> str:
    """`123456` → `1234,56`, `-8900` → `-89,00`."""
    return f"{Decimal(cents) / 100:.2f}".replace(".", ",")


def percent(vat_rate_bp: int) -> str:
    """`2000` → `20`, `550` → `5,5`."""
    return f"{(Decimal(vat_rate_bp) / 100).normalize():f}".replace(".", ",")


def invoices_spreadsheet_csv(invoices, *, tz: ZoneInfo) -> bytes:
    """One row per invoice or credit note, as French spreadsheets read them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")

    def day(moment) -> str:
        return moment.astimezone(tz).strftime("%d/%m/%Y")

    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        writer.writerow([str(column) for column in COLUMNS])
        for invoice in invoices:
            payment = invoice.payments[0] if invoice.payments else None
            rates = sorted({line.vat_rate_bp for line in invoice.lines})
            writer.writerow([safe_cell(value) for value in (
                invoice.number, str(KINDS[invoice.kind]), day(invoice.issued_at), day(invoice.due_at),
                invoice.buyer_name, invoice.buyer_identifier, euros(invoice.total_ht_cents),
                " ".join(percent(rate) for rate in rates), euros(invoice.vat_cents), euros(invoice.total_ttc_cents),
                invoice.currency, str(STATUSES[invoice_status(invoice)]),
                invoice.credit_of.number if invoice.credit_of else "",
                payment.paid_on.strftime("%d/%m/%Y") if payment else "", payment.reference if payment else "",
            )])
    return (BOM + buffer.getvalue()).encode("utf-8")

