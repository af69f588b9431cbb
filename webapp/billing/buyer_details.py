"""The buyer's company identity on a subscription: legal name, SIREN/SIRET,
intra-community VAT number and billing address, checked before they are kept.

Invoices issued from then on copy them (`invoicing._buyer`); issued ones keep
their own. A practitioner sets their own; the operator's back office, or the
clinic's accountants, set a clinic's (or any subscription in their scope).
"""

import re
import unicodedata

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret

from webapp.accounts.models import User
from webapp.billing.errors import InvalidBillingData, NoSubscription
from webapp.billing.models import Subscription
from webapp.billing.rules import BUYER_DETAILS_MAX_LENGTHS
from webapp.billing.scope import back_office_scope
from webapp.billing.subscriptions import own_subscription
from webapp.extensions import db

FIELDS = ("name", "siret", "vat_number", "street", "postcode", "city")
ADDRESS_FIELDS = ("street", "postcode", "city")
FRENCH_POSTCODE = re.compile(r"^\d{5}$")


def _printable(value: str) -> bool:
    return not any(unicodedata.category(char).startswith("C") for char in value)


def _siret(value: str, errors: dict) -> str | None:
    number = fr_siret.compact(value)
    if not number:
        return None
    try:
        return fr_siret.validate(number) if len(number) == 14 else fr_siren.validate(number)
    except stdnum_errors.ValidationError:
        errors["siret"] = [str(_l("Enter a SIREN (9 digits) or a SIRET (14 digits)."))]
        return None


def _vat_number(value: str, siret: str | None, errors: dict) -> str | None:
    if not value.strip():
        return None
    try:
        # A French number's two-digit key is checked against its SIREN (stdnum.fr.tva).
        number = eu_vat.validate(value)
    except stdnum_errors.ValidationError:  # an unknown country prefix too
        errors["vat_number"] = [str(_l("Enter a valid intra-community VAT number, such as FR40303265045: "
                                       "FR, a two-character key, then the 9 digits of the SIREN."))]
        return None
    if number.startswith("FR") and number[4:].isdigit() and siret and number[4:] != siret[:9]:
        errors["vat_number"] = [str(_l("This VAT number belongs to SIREN %(siren)s, not to the SIREN given above.",
                                       siren=number[4:]))]
        return None
    return number


def check_billing_details(raw: dict) -> dict:
    """The details cleaned (spaces removed, empty as None), or
    `InvalidBillingData` naming every field at fault at once."""
    values = {name: (raw.get(name) or "").strip() for name in FIELDS}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if len(value) > BUYER_DETAILS_MAX_LENGTHS[name] or not _printable(value):
            errors[name] = [str(_l("Enter at most %(count)s printable characters.",
                                   count=BUYER_DETAILS_MAX_LENGTHS[name]))]
    if errors:
        raise InvalidBillingData(fields=errors)
    siret = _siret(values["siret"], errors)
    cleaned = dict(name=values["name"] or None, siret=siret,
                   vat_number=_vat_number(values["vat_number"], siret, errors))
    address = {name: values[name] or None for name in ADDRESS_FIELDS}
    if any(address.values()):
        for name in ADDRESS_FIELDS:
            if address[name] is None:
                errors[name] = [str(_l("Give the whole billing address (street, postcode and city), or none."))]
        postcode = address["postcode"]
        if postcode is not None and not FRENCH_POSTCODE.match(postcode):
            errors["postcode"] = [str(_l("Enter a French postcode of 5 digits."))]
    if errors:
        raise InvalidBillingData(fields=errors)
    return cleaned | address


def _apply(subscription: Subscription, raw: dict) -> Subscription:
    details = check_billing_details(raw)
    for name, value in details.items():
        setattr(subscription, f"billing_{name}", value)
    db.session.flush()
    return subscription


def billing_details(subscription: Subscription) -> dict:
    """The details as kept, by field name (None when not given)."""
    return {name: getattr(subscription, f"billing_{name}") for name in FIELDS}


def update_billing_details(user: User, raw: dict) -> Subscription:
    """The practitioner's own company identity, printed on their next invoices
    (issued ones keep theirs): a SIREN (9 digits) or SIRET (14) and an EU VAT
    number, checked (check digits; a French VAT number's key and SIREN); a
    billing address in full or not at all; empty clears a field."""
    return _apply(own_subscription(user), raw)


def update_subscription_billing_details(subscription_id: int, raw: dict, *, actor: User) -> Subscription:
    """The same, from the back office: the operator for any subscription, a
    clinic's accountants for their clinic's; others are refused (403), and a
    subscription outside the actor's scope is "not found"."""
    scope = back_office_scope(actor)
    subscription = db.session.scalar(sa.select(Subscription).where(Subscription.id == subscription_id, scope))
    if subscription is None:
        raise NoSubscription()
    return _apply(subscription, raw)
