"""Why an invoice's 0 % lines carry no VAT: the seller's "franchise en base"
(CGI art. 293 B) or a configured exemption.

A seller under the franchise charges no VAT at all: every plan is priced at
0 % and each invoice prints "TVA non applicable, art. 293 B du CGI". Any other
0 % line is an exemption whose reason the deployment sets
(`CARNET_VAT_EXEMPTION_REASON`, and its VATEX code when it has one). EN 16931
puts such lines in category E ("exempt from VAT", BT-151) and wants their
VAT breakdown to carry the reason (BT-120) or its code (BT-121): the invoice
keeps both as issued, so its document says later what it said at issue.
"""

from webapp.billing.money import vat_rate_basis_points

STANDARD_RATE, EXEMPT = "S", "E"  # UNTDID 5305 VAT category codes
FRANCHISE_REASON = "TVA non applicable, art. 293 B du CGI"
FRANCHISE_CODE = "VATEX-FR-FRANCHISE"


def plan_vat_rate_bp(config) -> int:
    """The VAT rate of the plans: 0 under the franchise, else `CARNET_VAT_RATE`."""
    return 0 if config["CARNET_VAT_FRANCHISE"] else vat_rate_basis_points(config["CARNET_VAT_RATE"])


def configured_exemption(config) -> tuple[str | None, str | None]:
    """(VATEX code, printed reason) for 0 % lines issued today."""
    if config["CARNET_VAT_FRANCHISE"]:
        return FRANCHISE_CODE, FRANCHISE_REASON
    return config["CARNET_VAT_EXEMPTION_CODE"] or None, config["CARNET_VAT_EXEMPTION_REASON"] or None


def exemption_of_new_invoice(config, lines) -> dict:
    """The exemption columns of an invoice about to be issued (none without a 0 % line)."""
    if all(line.vat_rate_bp for line in lines):
        return dict(vat_exemption_code=None, vat_exemption_reason=None)
    code, reason = configured_exemption(config)
    return dict(vat_exemption_code=code, vat_exemption_reason=reason)


def vat_category(vat_rate_bp: int) -> str:
    return STANDARD_RATE if vat_rate_bp else EXEMPT


def check_exemption_settings(config) -> str | None:
    """What is wrong with the settings, or None: a 0 % plan needs a reason."""
    if not config["CARNET_VAT_FRANCHISE"] and vat_rate_basis_points(config["CARNET_VAT_RATE"]) == 0 \
            and not (config["CARNET_VAT_EXEMPTION_REASON"] or "").strip():
        return ("CARNET_VAT_RATE is 0: set CARNET_VAT_EXEMPTION_REASON (the article that exempts the service), "
                "or CARNET_VAT_FRANCHISE for a seller under the franchise en base (CGI art. 293 B).")
    return None


def exemption_of(invoice, config) -> tuple[str | None, str | None]:
    """(VATEX code, reason) of an issued invoice's 0 % lines: as issued; for
    one issued before invoices kept it (rendered at its first download), the
    configured one."""
    if invoice.vat_exemption_code or invoice.vat_exemption_reason:
        return invoice.vat_exemption_code, invoice.vat_exemption_reason
    if all(line.vat_rate_bp for line in invoice.lines):
        return None, None
    return configured_exemption(config)
