"""The practice's contact details: the address and phone patients see and call.

Rules:
- a practitioner sets their own (a pending one too: it is part of setting up
  the agenda); clinic staff, patients and admins get `Forbidden`;
- the address is required (a five-digit French postcode, a city), the phone
  optional and stored in E.164 (`phones`); a clinic's practitioners each
  enter the clinic's number as their own;
- each change is audited with the names of the fields only.
The booking pages and mails show them (`accounts/_practice_contact.html`).
Services flush but never commit; the caller wraps them in `transaction()`.
"""

import re

from flask_babel import lazy_gettext as _l

from webapp.accounts import phones
from webapp.accounts.errors import InvalidAccountData
from webapp.accounts.models import PractitionerProfile, Role, User
from webapp.audit.services import record_event
from webapp.errors import Forbidden
from webapp.extensions import db

ADDRESS_MAX_LENGTH = 200
CITY_MAX_LENGTH = 100
POSTCODE = re.compile(r"^\d{5}$")
CONTACT_FIELDS = ("address", "postcode", "city", "phone")


def _problems(address: str, postcode: str, city: str, phone: str | None) -> dict[str, list[str]]:
    errors = {}
    if not address:
        errors["address"] = [str(_l("Enter the practice's address."))]
    elif len(address) > ADDRESS_MAX_LENGTH:
        errors["address"] = [str(_l("At most %(max)d characters.", max=ADDRESS_MAX_LENGTH))]
    if not POSTCODE.match(postcode):
        errors["postcode"] = [str(_l("Five digits."))]
    if not city:
        errors["city"] = [str(_l("Enter the city."))]
    elif len(city) > CITY_MAX_LENGTH:
        errors["city"] = [str(_l("At most %(max)d characters.", max=CITY_MAX_LENGTH))]
    if phone and (problem := phones.phone_problem(phone)):
        errors["phone"] = [problem]
    return errors


def update_practice_contact(user: User, *, address: str, postcode: str, city: str,
                            phone: str | None) -> PractitionerProfile:
    """Change the practitioner's own practice address and phone (see the module's rules)."""
    profile = user.practitioner_profile if user.role is Role.PRACTITIONER else None
    if profile is None:
        raise Forbidden()
    address, postcode, city = (address or "").strip(), (postcode or "").strip(), (city or "").strip()
    phone = (phone or "").strip() or None
    if errors := _problems(address, postcode, city, phone):
        raise InvalidAccountData(fields=errors)
    wanted = {"address": address, "postcode": postcode, "city": city,
              "phone": phones.normalised_phone(phone) if phone else None}
    changed = [name for name in CONTACT_FIELDS if wanted[name] != getattr(profile, name)]
    for name in changed:
        setattr(profile, name, wanted[name])
    if changed:
        db.session.flush()
        record_event("practitioner.contact_updated", actor=user, target_type="practitioner_profile",
                     target_id=profile.id, details={"fields": "+".join(changed)})
    return profile
