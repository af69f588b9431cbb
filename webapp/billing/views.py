"""Billing pages, what both audiences share: menu entries, labels, the role
check, the billing details form, an invoice's PDF. The pages of each audience:
`subscription_views` (the practitioner), `backoffice_views` (the back office)."""


from flask import flash
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.accounts.models import Role
from webapp.billing import bp, payments, scope
from webapp.billing.api import pdf_response
from webapp.billing.forms import PAYMENT_METHOD_LABELS, BillingDetailsForm
from webapp.billing.models import InvoiceKind, PaymentMethod
from webapp.billing.scope import BACK_OFFICE_ROLES
from webapp.navigation import register_nav
from webapp.web import form_action, roles_required

register_nav("billing.subscription", _l("Subscription"), {Role.PRACTITIONER}, order=60)
register_nav("billing.backoffice_dashboard", _l("Billing"), set(BACK_OFFICE_ROLES), order=60,
             when=scope.sees_billing)

STATUS_LABELS = {
    "trialing": _l("Free trial"),
    "active": _l("Active"),
    "past_due": _l("Payment overdue"),
    "suspended": _l("Suspended"),
    "cancelled": _l("Cancelled"),
    "open": _l("To be paid"),
    "paid": _l("Paid"),
    "credited": _l("Cancelled by a credit note"),
    "issued": _l("Credit note"),
}
KIND_LABELS = {InvoiceKind.INVOICE.value: _l("Invoice"), InvoiceKind.CREDIT_NOTE.value: _l("Credit note")}
PROVIDER_LABELS = {"manual": _l("Bank transfer or cheque"), "stripe": _l("Card (online)")}


@bp.app_context_processor
def billing_labels():
    return {"billing_status_labels": STATUS_LABELS, "billing_kind_labels": KIND_LABELS,
            "billing_provider_labels": PROVIDER_LABELS, "billing_method_labels": PAYMENT_METHOD_LABELS
            | {PaymentMethod.CARD.value: _l("Card")}, "invoice_status": payments.invoice_status}


def save_billing_details(save, *, message: str, done, page):
    """Post the billing details form: `save(details)` in a transaction, then
    `message` and `done()`; field errors next to the fields on `page(form)` (422)."""
    form = BillingDetailsForm()
    if form.validate_on_submit():
        with form_action(form, passes=(403, 404)) as action:
            save(form.details())
        if action.succeeded:
            flash(message, "success")
            return done()
    return page(form)


# -- both audiences ----------------------------------------------------------------

@bp.route("/billing/invoices/<int:invoice_id>.pdf")
@roles_required(Role.PRACTITIONER, Role.STAFF, Role.ADMIN)
def invoice_pdf(invoice_id: int):
    return pdf_response(scope.visible_invoice(invoice_id, current_user))
