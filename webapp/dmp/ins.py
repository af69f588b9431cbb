"""National identifiers: the INS (a NIR with its key) and the practitioners' IdNat_PS (from the RPPS)."""

from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.fr import nir

INS_NIR_OID = "1.2.250.1.213.1.4.8"
TEST_INS_NIR_OID = "1.2.250.1.213.1.4.10"
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


def idnat_ps(rpps: str) -> str:
    """The IdNat_PS of a practitioner from their RPPS number (11 digits, Luhn key)."""
    if not (isinstance(rpps, str) and len(rpps) == 11 and rpps.isdigit() and luhn.is_valid(rpps)):
        raise ValueError("not a valid RPPS number")
    return IDNAT_PS_RPPS_PREFIX + rpps
