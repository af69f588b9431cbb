"""Billing pages: the practitioner's subscription and invoices, the back office."""

import functools

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.accounts.models import Role
from webapp.billing import backoffice, bp, buyer_details, checkout, services
from webapp.billing.api import csv_response, pdf_response, spreadsheet_csv_response
from webapp.billing.chart import HEIGHT, WIDTH, revenue_bars
from webapp.billing.confirmation import confirmation_page, is_confirmed
from webapp.billing.forms import PAYMENT_METHOD_LABELS, ActionForm, BillingDetailsForm, CreditNoteForm, MarkPaidForm
from webapp.billing.models import InvoiceKind, PaymentMethod, SubscriptionStatus
from webapp.billing.money import format_money
from webapp.db import now_utc
from webapp.errors import CarnetError, Forbidden
from webapp.extensions import db
from webapp.navigation import register_nav
from webapp.paging import paginate
from webapp.transaction import transaction
from webapp.urls import external_url
from webapp.web import show_errors

register_nav("billing.subscription", _l("Subscription"), {Role.PRACTITIONER}, order=60)
register_nav("billing.backoffice_dashboard", _l("Billing"), {Role.STAFF, Role.ADMIN}, order=60,
             when=services.sees_billing)

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


def roles_required(*roles):
    """Log in first; then only these roles (others get 403)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in roles:
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapper

    return decorator


@bp.app_context_processor
def billing_labels():
    return {"billing_status_labels": STATUS_LABELS, "billing_kind_labels": KIND_LABELS,
            "billing_provider_labels": PROVIDER_LABELS, "billing_method_labels": PAYMENT_METHOD_LABELS
            | {PaymentMethod.CARD.value: _l("Card")}, "invoice_status": services.invoice_status}


def _page_number() -> int:
    page = request.args.get("page", default=1, type=int)
    return page if 1 <= page <= 1_000_000 else 1


# -- the practitioner ------------------------------------------------------------

@bp.route("/billing/subscription")
@roles_required(Role.PRACTITIONER)
def subscription(details_form=None, status: int = 200):
    own = services.subscription_of_practitioner(current_user.practitioner_profile.id)
    if own is None:
        return render_template("billing/subscription.html", subscription=None)
    invoices = paginate(services.own_invoices_query(current_user), page=_page_number(), per_page=24)
    return render_template(
        "billing/subscription.html", subscription=own, invoices=invoices, form=ActionForm(),
        details_form=details_form or BillingDetailsForm.of(own),
        next_invoice=services.next_invoice_estimate(own), plan_name=services.plan_name(own.plan),
        online_payment=current_app.config["CARNET_BILLING_PROVIDER"] == "stripe",
        is_bookable=services.is_bookable(current_user.practitioner_profile.id),
        overdue_cents=services.overdue_amount_cents(own),
    ), status


def save_billing_details(save, *, message: str, done, page):
    """Post the billing details form: `save(details)` in a transaction, then
    `message` and `done()`; field errors next to the fields on `page(form)` (422)."""
    form = BillingDetailsForm()
    if form.validate_on_submit():
        try:
            with transaction():
                save(form.details())
        except CarnetError as error:
            if not error.fields:
                raise
            show_errors(form, error)
        else:
            flash(message, "success")
            return done()
    return page(form)


@bp.route("/billing/subscription/details", methods=["POST"])
@roles_required(Role.PRACTITIONER)
def subscription_details():
    return save_billing_details(
        lambda details: buyer_details.update_billing_details(current_user, details),
        message=_("Your billing details are saved; they appear on your next invoices."),
        done=lambda: redirect(url_for("billing.subscription")),
        page=lambda form: subscription(details_form=form, status=422))


def _subscription_action(action) -> object:
    if not ActionForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return redirect(url_for("billing.subscription"))
    try:
        return action()
    except CarnetError as error:
        flash(error.message, "error")
        return redirect(url_for("billing.subscription"))


@bp.route("/billing/subscription/checkout", methods=["POST"])
@roles_required(Role.PRACTITIONER)
def subscription_checkout():
    back = external_url("billing.subscription")
    return _subscription_action(lambda: redirect(
        checkout.start_checkout(current_user, success_url=back, cancel_url=back), code=303))


@bp.route("/billing/subscription/portal", methods=["POST"])
@roles_required(Role.PRACTITIONER)
def subscription_portal():
    back = external_url("billing.subscription")
    return _subscription_action(lambda: redirect(checkout.payment_portal_url(current_user, return_url=back), code=303))


def _change_subscription(service, message):
    with transaction():
        service(current_user)
    flash(message, "success")
    return redirect(url_for("billing.subscription"))


@bp.route("/billing/subscription/cancel", methods=["POST"])
@roles_required(Role.PRACTITIONER)
def subscription_cancel():
    return _subscription_action(lambda: _change_subscription(
        services.request_cancellation, _("Your subscription will end at the end of the current period.")))


@bp.route("/billing/subscription/resume", methods=["POST"])
@roles_required(Role.PRACTITIONER)
def subscription_resume():
    return _subscription_action(lambda: _change_subscription(
        services.undo_cancellation, _("Your subscription continues.")))


@bp.route("/billing/invoices/<int:invoice_id>.pdf")
@roles_required(Role.PRACTITIONER, Role.STAFF, Role.ADMIN)
def invoice_pdf(invoice_id: int):
    return pdf_response(services.visible_invoice(invoice_id, current_user))


# -- the back office -------------------------------------------------------------

BACK_OFFICE = (Role.STAFF, Role.ADMIN)


@bp.route("/backoffice/billing")
@roles_required(*BACK_OFFICE)
def backoffice_dashboard():
    months = services.monthly_revenue(current_user)
    return render_template(
        "billing/backoffice_dashboard.html", metrics=services.metrics(current_user), bars=revenue_bars(months),
        chart_width=WIDTH, chart_height=HEIGHT,
    )


def _choice(name: str, allowed) -> str | None:
    """A filter value from the query string; an unknown one is reported, not fatal."""
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        flash(_("Unknown filter value: the list is not filtered."), "error")
        return None
    return value


@bp.route("/backoffice/billing/subscriptions")
@roles_required(*BACK_OFFICE)
def backoffice_subscriptions():
    status = _choice("status", [s.value for s in SubscriptionStatus])
    text = request.args.get("q", "")[:backoffice.SEARCH_MAX_LENGTH]
    statement = backoffice.search_subscriptions_query(current_user, text=text,
                                                      status=SubscriptionStatus(status) if status else None)
    return render_template("billing/backoffice_subscriptions.html", status=status, statuses=list(SubscriptionStatus),
                           text=text, page=paginate(statement, page=_page_number(), per_page=50))


@bp.route("/backoffice/billing/invoices")
@roles_required(*BACK_OFFICE)
def backoffice_invoices():
    status = _choice("status", services.INVOICE_STATUSES)
    kind = _choice("kind", [k.value for k in InvoiceKind])
    statement = services.invoices_query(current_user, status=status, kind=InvoiceKind(kind) if kind else None)
    if request.args.get("format") == "csv":
        invoices = db.session.scalars(statement)
        if request.args.get("dialect") == "machine":
            return csv_response(invoices)
        return spreadsheet_csv_response(invoices)
    return render_template("billing/backoffice_invoices.html", status=status, kind=kind,
                           statuses=services.INVOICE_STATUSES, page=paginate(statement, page=_page_number(), per_page=50))


def _invoice_page(invoice_id: int, *, paid_form=None, credit_form=None, status: int = 200):
    invoice = services.visible_invoice(invoice_id, current_user)
    return render_template(
        "billing/backoffice_invoice.html", invoice=invoice, status=services.invoice_status(invoice),
        is_operator=services.is_operator(current_user),
        paid_form=paid_form or MarkPaidForm(formdata=None), credit_form=credit_form or CreditNoteForm(formdata=None),
    ), status


@bp.route("/backoffice/billing/invoices/<int:invoice_id>")
@roles_required(*BACK_OFFICE)
def backoffice_invoice(invoice_id: int):
    return _invoice_page(invoice_id)


def _ask_confirmation(invoice_id: int, form, confirmation, check, *, form_name: str):
    """The confirmation page of a valid form, or the invoice page with the
    errors `check()` finds (the operator only: others are refused first)."""
    invoice = services.visible_invoice(invoice_id, current_user)
    services.require_operator(current_user)
    try:
        if check is not None:
            check()
    except CarnetError as error:
        if not error.fields:
            raise
        show_errors(form, error)
        return _invoice_page(invoice_id, **{form_name: form}, status=422)
    return confirmation_page(form, back=url_for("billing.backoffice_invoice", invoice_id=invoice_id),
                             **confirmation(invoice))


def _invoice_action(invoice_id: int, form, action, done, *, form_name: str, confirmation, check=None):
    """Run a back-office action on an invoice: field errors next to the
    fields, a refused state as a message above the invoice. The valid form
    (`check()` raising no field error) first answers a confirmation page
    (`confirmation(invoice)` gives its text); only its second submission
    acts. `done(result)` gives the success message and the invoice to show next."""
    if form.validate_on_submit():
        if not is_confirmed():
            return _ask_confirmation(invoice_id, form, confirmation, check, form_name=form_name)
        try:
            with transaction():
                result = action()
        except CarnetError as error:
            if error.status in (403, 404):
                raise
            if not error.fields:
                flash(error.message, "error")
                return redirect(url_for("billing.backoffice_invoice", invoice_id=invoice_id))
            show_errors(form, error)
        else:
            message, next_invoice_id = done(result)
            flash(message, "success")
            return redirect(url_for("billing.backoffice_invoice", invoice_id=next_invoice_id))
    return _invoice_page(invoice_id, **{form_name: form}, status=422)


@bp.route("/backoffice/billing/invoices/<int:invoice_id>/mark-paid", methods=["POST"])
@roles_required(*BACK_OFFICE)
def backoffice_mark_paid(invoice_id: int):
    form = MarkPaidForm()
    return _invoice_action(invoice_id, form, lambda: services.mark_invoice_paid(
        invoice_id, actor=current_user, method=PaymentMethod(form.method.data), paid_on=form.paid_on.data,
        reference=form.reference.data,
    ), lambda payment: (_("The payment is recorded."), invoice_id), form_name="paid_form",
        check=lambda: services.check_payment(method=PaymentMethod(form.method.data), paid_on=form.paid_on.data,
                                             reference=form.reference.data, now=now_utc()),
        confirmation=lambda invoice: dict(
            title=_("Record this payment?"), submit=_("Yes, mark as paid"),
            warning=_("A recorded payment cannot be changed or removed."),
            facts=[(_("Invoice"), invoice.number), (_("Customer"), invoice.buyer_name),
                   (_("Amount"), format_money(invoice.total_ttc_cents, invoice.currency)),
                   (_("Payment method"), PAYMENT_METHOD_LABELS.get(form.method.data, form.method.data)),
                   (_("Received on"), format_date(form.paid_on.data, "long")),
                   (_("Reference"), form.reference.data)]))


@bp.route("/backoffice/billing/invoices/<int:invoice_id>/credit-note", methods=["POST"])
@roles_required(*BACK_OFFICE)
def backoffice_credit_note(invoice_id: int):
    form = CreditNoteForm()
    return _invoice_action(invoice_id, form, lambda: services.issue_credit_note(
        invoice_id, actor=current_user, reason=form.reason.data,
    ), lambda credit: (_("Credit note %(number)s is issued.", number=credit.number), credit.id),
        form_name="credit_form", confirmation=lambda invoice: dict(
            title=_("Issue a credit note for invoice %(number)s?", number=invoice.number),
            submit=_("Yes, issue the credit note"),
            warning=_("The credit note cancels the whole invoice; it takes the next number and cannot be undone."),
            facts=[(_("Invoice"), invoice.number), (_("Customer"), invoice.buyer_name),
                   (_("Amount credited"), format_money(invoice.total_ttc_cents, invoice.currency)),
                   (_("Reason"), form.reason.data)]))


@bp.route("/backoffice/billing/failed-payments")
@roles_required(*BACK_OFFICE)
def backoffice_failed_payments():
    page = paginate(services.failed_payments_query(current_user), page=_page_number(), per_page=50)
    return render_template("billing/backoffice_failed_payments.html", page=page,
                           overdue={s.id: services.overdue_amount_cents(s) for s in page["items"]})
