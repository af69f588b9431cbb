"""Amounts: VAT per invoice line (half up to the cent). Display: webapp.template_filters."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class LineAmounts:
    total_ht_cents: int
    vat_cents: int
    total_ttc_cents: int


def vat_rate_basis_points(rate_percent: str) -> int:
    """'20' or '5.5' (percent) → 2000 or 550 basis points."""
    basis_points = Decimal(rate_percent) * 100
    if basis_points != basis_points.to_integral_value() or not 0 <= basis_points <= 10000:
        raise ValueError(f"VAT rate {rate_percent!r} is not a percentage with at most two decimals")
    return int(basis_points)


def line_amounts(unit_price_ht_cents: int, quantity: int, vat_rate_bp: int) -> LineAmounts:
    """HT, VAT and TTC of one line; the VAT is rounded on the line, half up
    (away from zero, so a credit note mirrors its invoice exactly)."""
    total_ht = unit_price_ht_cents * quantity
    vat = (Decimal(total_ht) * vat_rate_bp / 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return LineAmounts(total_ht, int(vat), total_ht + int(vat))


@dataclass(frozen=True)
class VatSubtotal:
    vat_rate_bp: int
    base_ht_cents: int
    vat_cents: int


def vat_breakdown(lines) -> list[VatSubtotal]:
    """The HT base and VAT per rate (CGI art. 242 nonies A), lowest rate first;
    each line carries its own rate and VAT, so the VATs add up to the invoice's."""
    rates = sorted({line.vat_rate_bp for line in lines})
    return [VatSubtotal(rate, sum(line.total_ht_cents for line in lines if line.vat_rate_bp == rate),
                        sum(line.vat_cents for line in lines if line.vat_rate_bp == rate)) for rate in rates]
