"""INS (NIR) and IdNat_PS numbers."""

import pytest

from tests.dmp.factories import CORSICAN_NIR, VALID_NIR, WRONG_KEY_NIR
from webapp.dmp.ins import idnat_ps, is_valid_nir, normalised_nir


@pytest.mark.parametrize("nir", [VALID_NIR, CORSICAN_NIR, "2 95 10 99 126 111 93", "186022a21532523"])
def test_a_nir_whose_key_matches_is_valid(nir):
    assert is_valid_nir(nir)


@pytest.mark.parametrize("nir", [WRONG_KEY_NIR, "29510991261119", "2951099126111930", "", "ABCDEFGHIJKLMNO",
                                 "186022C21532523"])
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
