"""Who sees what in billing: the back office's scope, the operator, the invoices one may read."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.accounts.models import ClinicMember, ClinicRole, PractitionerProfile, Role, User
from webapp.accounts.staff import clinic_ids_of
from webapp.billing.errors import InvoiceNotFound
from webapp.billing.models import Invoice, Subscription
from webapp.errors import Forbidden
from webapp.extensions import db

BACK_OFFICE_ROLES = (Role.STAFF, Role.ADMIN)


# Within a clinic, billing is the accountant's part; a secretary runs the agendas
# (webapp.booking.agendas.AGENDA_CLINIC_ROLE) and sees no money.
BILLING_CLINIC_ROLE = ClinicRole.ACCOUNTANT


def _clinic_ids_of(user: User) -> list[int]:
    return list(db.session.scalars(sa.select(ClinicMember.clinic_id).where(ClinicMember.user_id == user.id)))


def back_office_scope(actor: User) -> sa.ColumnElement[bool]:
    """Subscriptions a back-office user may see: all for an administrator or
    the operator's staff (no clinic); a clinic's accountants see their clinic
    only; any other clinic member (a secretary) is refused."""
    if actor.role not in BACK_OFFICE_ROLES:
        raise Forbidden()
    if actor.role is Role.ADMIN or not _clinic_ids_of(actor):
        return sa.true()
    clinic_ids = clinic_ids_of(actor, BILLING_CLINIC_ROLE)
    if not clinic_ids:
        raise Forbidden(_l("Only the clinic's accountants see its billing."))
    clinic_practitioners = sa.select(PractitionerProfile.id).where(PractitionerProfile.clinic_id.in_(clinic_ids))
    return sa.or_(Subscription.clinic_id.in_(clinic_ids), Subscription.practitioner_id.in_(clinic_practitioners))


def sees_billing(user: User) -> bool:
    """Whether the user has a billing back office (menus, pages)."""
    try:
        back_office_scope(user)
    except Forbidden:
        return False
    return True


def is_operator(user: User) -> bool:
    return user.role is Role.ADMIN or (user.role is Role.STAFF and not _clinic_ids_of(user))


def require_operator(actor: User) -> None:
    """Money received and credit notes are the operator's acts, not a clinic's."""
    if not is_operator(actor):
        raise Forbidden(_l("Only the operator's back office records payments and credit notes."))


def visible_invoice(invoice_id: int, actor: User) -> Invoice:
    """An invoice the actor may read: their own (practitioner) or within
    their back-office scope. Anything else is "not found"."""
    statement = sa.select(Invoice).join(Subscription, Invoice.subscription_id == Subscription.id) \
        .where(Invoice.id == invoice_id)
    if actor.role is Role.PRACTITIONER and actor.practitioner_profile is not None:
        statement = statement.where(Subscription.practitioner_id == actor.practitioner_profile.id)
    elif actor.role in BACK_OFFICE_ROLES:
        statement = statement.where(back_office_scope(actor))
    else:
        raise InvoiceNotFound()
    invoice = db.session.scalar(statement)
    if invoice is None:
        raise InvoiceNotFound()
    return invoice
