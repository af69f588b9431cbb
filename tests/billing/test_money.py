"""VAT per line rounded half up to the cent, and amounts in French."""

import pytest
from flask_babel import force_locale

from webapp.billing.money import line_amounts, vat_rate_basis_points
from webapp.template_filters import money, vat_rate


def test_practitioner_plan_is_89_ht_and_106_80_ttc():
    amounts = line_amounts(8900, 1, 2000)
    assert (amounts.total_ht_cents, amounts.vat_cents, amounts.total_ttc_cents) == (8900, 1780, 10680)


@pytest.mark.parametrize(("unit", "quantity", "rate_bp", "vat"), [
    (1, 1, 2000, 0),        # 0.2 cent rounds down
    (3, 1, 2000, 1),        # 0.6 cent rounds up
    (5, 1, 1000, 1),        # exactly half a cent rounds up, not to even
    (25, 1, 1000, 3),       # 2.5 cents → 3 (banker's rounding would give 2)
    (15, 1, 1000, 2),       # 1.5 cents → 2
    (1234, 3, 550, 204),    # 3702 × 5.5 % = 203.61
    (7900, 4, 2000, 6320),  # clinic plan, 4 practitioners
])
def test_vat_is_rounded_half_up_per_line(unit, quantity, rate_bp, vat):
    amounts = line_amounts(unit, quantity, rate_bp)
    assert amounts.vat_cents == vat
    assert amounts.total_ttc_cents == unit * quantity + vat


def test_negative_lines_mirror_positive_ones():
    assert line_amounts(25, -1, 1000).vat_cents == -line_amounts(25, 1, 1000).vat_cents


def test_vat_rate_from_configuration():
    assert vat_rate_basis_points("20") == 2000
    assert vat_rate_basis_points("5.5") == 550
    for bad in ("20.125", "-1", "101"):
        with pytest.raises(ValueError):
            vat_rate_basis_points(bad)


def test_amounts_are_shown_in_french(app):
    with app.test_request_context(), force_locale("fr"):
        assert money(8900) == "89,00\u00a0€"
        assert money(10680) == "106,80\u00a0€"
        assert vat_rate(2000) == "20\u00a0%"
        assert vat_rate(550) == "5,5\u00a0%"


def test_pages_format_amounts_with_the_shared_filters(app):
    assert app.jinja_env.filters["money"] is money
    assert "billing_money" not in app.jinja_env.filters
    with app.test_request_context(), force_locale("fr"):
        rendered = app.jinja_env.from_string("{{ 8900 | money }} {{ 2000 | vat_rate }}").render()
    assert rendered == "89,00\u00a0€ 20\u00a0%"
