"""Phone numbers: typed in any usual French way, stored in E.164, shown the French way."""

import pytest

from webapp.accounts.phones import display_phone, is_mobile, normalised_phone, phone_problem


@pytest.mark.parametrize("typed, stored", [
    ("06 12 34 56 78", "+33612345678"),
    ("06.12.34.56.78", "+33612345678"),
    ("0612345678", "+33612345678"),
    ("+33 6 12 34 56 78", "+33612345678"),
    ("+33 (0)6 12 34 56 78", "+33612345678"),
    ("0033 1 42 00 00 00", "+33142000000"),
    ("07-00-00-00-01", "+33700000001"),
    ("0692 12 34 56", "+262692123456"),  # Réunion mobile
    ("05 90 12 34 56", "+590590123456"),  # Guadeloupe landline
    ("+262 692 12 34 56", "+262692123456"),
    ("+32 470 12 34 56", "+32470123456"),  # Belgium: international form
])
def test_usual_forms_are_stored_in_e164(typed, stored):
    assert normalised_phone(typed) == stored
    assert phone_problem(typed) is None


@pytest.mark.parametrize("typed", [
    "", "06 12 34 56", "06 12 34 56 78 9", "00 12 34 56 78", "6 12 34 56 78", "+33 06 12 34 56 78",
    "+33 692 12 34 56", "+262 612 34 56 78", "06 12 34 56 7a", "téléphone", "+0 12345678", "1" * 40,
    "06 12 34 56 78\x00",
])
def test_anything_else_is_refused_in_french(typed, app):
    assert normalised_phone(typed) is None
    with app.test_request_context():
        assert "Saisissez un numéro de téléphone valide" in phone_problem(typed)


def test_display_and_sms_reach():
    assert display_phone("+33612345678") == "06 12 34 56 78"
    assert display_phone("+262692123456") == "06 92 12 34 56"
    assert display_phone("+32470123456") == "+32470123456"
    assert display_phone(None) == ""
    assert is_mobile("+33612345678") and is_mobile("+262692123456") and is_mobile("+32470123456")
    assert not is_mobile("+33142000000") and not is_mobile("+590590123456") and not is_mobile(None)
