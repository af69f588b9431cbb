"""Phone numbers of the demo world, from the ranges the French regulator (ARCEP)
keeps for fiction, so no real person is ever called: practices get a
landline of their region, patient accounts a mobile."""

import sqlalchemy as sa

from webapp.accounts.models import PatientProfile, PractitionerProfile
from webapp.accounts.phones import normalised_phone
from webapp.extensions import db

# Fictional blocks per region ("numéros réservés à la fiction"), by département.
REGION_BLOCKS = {
    "01 99 00": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "02 61 91": ("14", "22", "29", "35", "37", "44", "45", "49", "50", "56", "72", "76"),
    "03 53 01": ("21", "25", "51", "54", "57", "59", "62", "67", "68"),
    "04 65 71": ("06", "13", "34", "38", "69", "73", "74", "83", "84"),
    "05 36 49": ("31", "33", "40", "47", "64", "65", "66", "87"),
}
MOBILE_BLOCK = "06 39 98"


def _block_for(postcode: str) -> str:
    return next((block for block, departments in REGION_BLOCKS.items() if postcode[:2] in departments), "01 99 00")


def give_demo_phones() -> None:
    """A practice phone for every demo practitioner, a mobile for every patient account."""
    practitioners = db.session.scalars(sa.select(PractitionerProfile).order_by(PractitionerProfile.id))
    for index, practitioner in enumerate(practitioners, start=1):
        practitioner.phone = normalised_phone(f"{_block_for(practitioner.postcode)} {index:02d} {index:02d}")
    patients = db.session.scalars(sa.select(PatientProfile).where(PatientProfile.account_id.is_not(None))
                                  .order_by(PatientProfile.id))
    for index, patient in enumerate(patients, start=1):
        patient.phone = normalised_phone(f"{MOBILE_BLOCK} {index:02d} {index:02d}")
    db.session.flush()
