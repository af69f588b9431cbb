"""National identifiers: the INS (a NIR with its key) and the practitioners' IdNat_PS (from the RPPS)."""

import datetime as dt
import re

from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.fr import nir, siret

INS_NIR_OID = "1.2.250.1.213.1.4.8"
INS_NIA_OID = "1.2.250.1.213.1.4.9"
TEST_INS_NIR_OID = "1.2.250.1.213.1.4.10"
# FR Core identifier types (fr-core-cs-v2-0203) of the INS.
FR_V2_0203 = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
INS_NIR_TYPE, INS_NIR_TEST_TYPE, INS_NIA_TYPE = "INS-NIR", "INS-NIR-TEST", "INS-NIA"
# An NIA (identifiant d'attente, given while a NIR is being assigned) starts with 7 or 8.
NIA_FIRST_DIGITS = ("7", "8")
# IdNat_Struct: a structure's national id, "1" + FINESS or "3" + SIRET.
IDNAT_STRUCT_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
IDNAT_STRUCT_TYPE = "IDNST"
_FINESS = re.compile(r"^(\d{2}|2A|2B)\d{7}$")
# IdNat_PS: the national practitioner identifier, "8" followed by the RPPS number.
IDNAT_PS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
IDNAT_PS_RPPS_PREFIX = "8"


def normalised_nir(value: str) -> str:
    """The NIR without spaces or dots, upper case (2a → 2A)."""
    return nir.compact(value or "").upper()


def is_valid_nir(value: str) -> bool:
    """A 15-character NIR whose 2-digit key is 97 − (first 13 digits mod 97),
    with Corsica's 2A and 2B counted as 19 and 18 for the computation."""
    try:
        nir.validate(normalised_nir(value))
    except ValidationError:
        return False
    return True


# The NIR's first digit: 1 and 3 male, 2 and 4 female (3 and 4: foreign-born people
# being registered); 7 and 8 are NIA (see `NIA_FIRST_DIGITS`), whose traits are not compared.
NIR_SEX_DIGITS = {"1": "male", "2": "female", "3": "male", "4": "female"}


def _month_is_unknown(month: int) -> bool:
    """Digits 4-5 of 20, 30 to 42, 50 or more (99 included): a birth month
    unknown or not comparable (civil registration abroad, fictitious month)."""
    return month == 20 or 30 <= month <= 42 or month >= 50


def trait_mismatches(ins: str, *, birth_date: dt.date, sex: str | None) -> list[str]:
    """The profile fields (`sex`, `birth_date`) that disagree with a valid NIR:
    its first digit (sex), digits 2-3 (year of birth) and 4-5 (month of
    birth, unless unknown or special). A sex other than male or female, or
    none, is not compared; an NIA (7 or 8) is not compared at all."""
    number = normalised_nir(ins)
    if number[:1] in NIA_FIRST_DIGITS:
        return []
    mismatches = []
    nir_sex = NIR_SEX_DIGITS.get(number[:1])
    if nir_sex is None or (sex in ("male", "female") and sex != nir_sex):
        mismatches.append("sex")
    year, month = int(number[1:3]), int(number[3:5])
    month_agrees = month == birth_date.month or _month_is_unknown(month)
    if year != birth_date.year % 100 or not month_agrees:
        mismatches.append("birth_date")
    return mismatches


def idnat_ps(rpps: str) -> str:
    """The IdNat_PS of a practitioner from their RPPS number (11 digits, Luhn key)."""
    if not (isinstance(rpps, str) and len(rpps) == 11 and rpps.isdigit() and luhn.is_valid(rpps)):
        raise ValueError("not a valid RPPS number")
    return IDNAT_PS_RPPS_PREFIX + rpps


def ins_identifier(ins: str, ins_oid: str) -> dict:
    """The FHIR identifier of an INS: an NIA (first digit 7 or 8) is typed INS-NIA
    under its own OID; a NIR is INS-NIR, or INS-NIR-TEST under the test OID."""
    if ins[:1] in NIA_FIRST_DIGITS:
        kind, oid = INS_NIA_TYPE, INS_NIA_OID
    else:
        kind, oid = (INS_NIR_TEST_TYPE if ins_oid == TEST_INS_NIR_OID else INS_NIR_TYPE), ins_oid
    return {"type": {"coding": [{"system": FR_V2_0203, "code": kind}]}, "system": f"urn:oid:{oid}", "value": ins}


def idnat_struct(value: str) -> str:
    """The IdNat_Struct of a structure from its FINESS (9 characters: "1" + FINESS)
    or its SIRET (14 digits with a Luhn key: "3" + SIRET); an id already
    prefixed is returned as is. ValueError for anything else."""
    value = (value or "").strip().upper()
    if _FINESS.match(value):
        return "1" + value
    if len(value) == 14 and siret.is_valid(value):
        return "3" + value
    if (value.startswith("1") and _FINESS.match(value[1:])) or (
            value.startswith("3") and len(value) == 15 and siret.is_valid(value[1:])):
        return value
    raise ValueError("not a FINESS, a SIRET or an IdNat_Struct")
