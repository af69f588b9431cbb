"""INS (NIR) and IdNat_PS numbers."""

import datetime as dt

import pytest
from stdnum.fr import nir

from tests.dmp.factories import CORSICAN_NIR, VALID_NIR, WRONG_KEY_NIR
from webapp.dmp.ins import idnat_ps, is_valid_nir, normalised_nir, trait_mismatches


@pytest.mark.parametrize("nir", [VALID_NIR, CORSICAN_NIR, "2 85 03 99 126 111 83", "185032a21532588"])
def test_a_nir_whose_key_matches_is_valid(nir):
    assert is_valid_nir(nir)


@pytest.mark.parametrize("nir", [WRONG_KEY_NIR, "28503991261118", "2850399126111830", "", "ABCDEFGHIJKLMNO",
                                 "185032C21532588"])
def test_a_nir_with_a_wrong_key_length_or_characters_is_refused(nir):
    assert not is_valid_nir(nir)


def test_corsica_counts_2a_as_19_for_the_key():
    """2A → 19 before the computation: the same digits with 19 give the same key."""
    digits = int(normalised_nir(CORSICAN_NIR)[:13].replace("2A", "19"))
    assert 97 - digits % 97 == int(CORSICAN_NIR[13:])


def test_idnat_ps_is_8_followed_by_the_rpps():
    assert idnat_ps("99700218896") == "899700218896"


@pytest.mark.parametrize("rpps", ["99700218897", "9970021889", "abcdefghijk", ""])
def test_idnat_ps_refuses_an_invalid_rpps(rpps):
    with pytest.raises(ValueError):
        idnat_ps(rpps)


BORN_MARCH_1985 = dt.date(1985, 3, 14)


def _nir(first_thirteen: str) -> str:
    return first_thirteen + nir.calc_check_digits(first_thirteen + "00")


@pytest.mark.parametrize("sex", [None, "female", "other", "unknown"])
def test_a_nir_that_agrees_with_the_traits_has_no_mismatch(sex):
    assert trait_mismatches(VALID_NIR, birth_date=BORN_MARCH_1985, sex=sex) == []


@pytest.mark.parametrize("first_thirteen, sex, fields", [
    ("1850399126111", "female", ["sex"]),
    ("2850399126111", "male", ["sex"]),
    ("3850399126111", "female", ["sex"]),  # 3: a foreign-born man being registered
    ("4850399126111", "female", []),
    ("2950399126111", None, ["birth_date"]),  # another year
    ("2851099126111", None, ["birth_date"]),  # another month
    ("2951099126111", "male", ["sex", "birth_date"]),  # the mother's carte Vitale
    ("2851399126111", None, ["birth_date"]),  # month 13 exists for no one
    ("5850399126111", None, ["sex"]),  # no such first digit
])
def test_the_sex_digit_and_birth_year_and_month_must_agree(first_thirteen, sex, fields):
    assert trait_mismatches(_nir(first_thirteen), birth_date=BORN_MARCH_1985, sex=sex) == fields


@pytest.mark.parametrize("month", ["20", "30", "42", "50", "99"])
def test_an_unknown_or_special_month_is_accepted(month):
    assert trait_mismatches(_nir(f"285{month}99126111"), birth_date=BORN_MARCH_1985, sex="female") == []


@pytest.mark.parametrize("first_digit", ["7", "8"])
def test_an_nia_is_not_compared_with_the_traits(first_digit):
    assert trait_mismatches(_nir(f"{first_digit}951099126111"), birth_date=BORN_MARCH_1985, sex="male") == []
