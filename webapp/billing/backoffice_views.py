"""Back-office pages: the dashboard, the subscription, invoice and failed-payment
lists, one invoice (payment, credit note) and one subscription (its file, its
billing details, its cancellation)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user

from webapp.billing import backoffice, bp, buyer_details, pages, payments, plans, scope
from webapp.billing.api import csv_response, spreadsheet_csv_response
from webapp.billing.chart import HEIGHT, WIDTH, revenue_bars
from webapp.billing.confirmation import confirmation_page, is_confirmed
from webapp.billing.forms import PAYMENT_METHOD_LABELS, ActionForm, BillingDetailsForm, CreditNoteForm, MarkPaidForm
from webapp.billing.models import InvoiceKind, PaymentMethod, SubscriptionStatus
from webapp.billing.rules import BACK_OFFICE_PER_PAGE, SEARCH_MAX_LENGTH
from webapp.billing.scope import BACK_OFFICE_ROLES
from webapp.billing.views import STATUS_LABELS, save_billing_details
from webapp.db import now_utc
from webapp.errors import CarnetError
from webapp.extensions import db
from webapp.paging import page_number, paginate
from webapp.template_filters import money
from webapp.web import form_action, roles_required, show_errors

# -- the dashboard and the lists -------------------------------------------------

@bp.route("/backoffice/billing")
@roles_required(*BACK_OFFICE_ROLES)
def backoffice_dashboard():
    page = pages.dashboard_page(current_user)
    return render_template("billing/backoffice_dashboard.html", metrics=page.metrics, bars=revenue_bars(page.revenue),
                           chart_width=WIDTH, chart_height=HEIGHT)


def _choice(name: str, allowed) -> str | None:
    """A filter value from the query string; an unknown one is reported, not fatal."""
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        flash(_("Unknown filter value: the list is not filtered."), "error")
        return None
    return value


@bp.route("/backoffice/billing/subscriptions")
@roles_required(*BACK_OFFICE_ROLES)
def backoffice_subscriptions():
    status = _choice("status", [s.value for s in SubscriptionStatus])
    text = request.args.get("q", "")[:SEARCH_MAX_LENGTH]
    statement = backoffice.search_subscriptions_query(current_user, text=text,
                                                      status=SubscriptionStatus(status) if status else None)
    return render_template("billing/backoffice_subscriptions.html", status=status, statuses=list(SubscriptionStatus),
                           text=text, page=paginate(statement, page=page_number(), per_page=BACK_OFFICE_PER_PAGE))


@bp.route("/backoffice/billing/invoices")
@roles_required(*BACK_OFFICE_ROLES)
def backoffice_invoices():
    status = _choice("status", payments.INVOICE_STATUSES)
    kind = _choice("kind", [k.value for k in InvoiceKind])
    statement = backoffice.invoices_query(current_user, status=status, kind=InvoiceKind(kind) if kind else None)
    # The export takes every invoice the filters match, not one page; by
    # default in the form French spreadsheets open, `dialect=machine` for programs.
    if request.args.get("format") == "csv":
        invoices = db.session.scalars(statement)
        if request.args.get("dialect") == "machine":
            return csv_response(invoices)
        return spreadsheet_csv_response(invoices)
    return render_template("billing/backoffice_invoices.html", status=status, kind=kind,
                           statuses=payments.INVOICE_STATUSES,
                           page=paginate(statement, page=page_number(), per_page=BACK_OFFICE_PER_PAGE))


@bp.route("/backoffice/billing/failed-payments")
@roles_required(*BACK_OFFICE_ROLES)
def backoffice_failed_payments():
    page = pages.failed_payments_page(current_user, page=page_number())
    return render_template("billing/backoffice_failed_payments.html", **pages.template_context(page))


# -- one invoice: its payment, its credit note -----------------------------------
# Both acts are irreversible: a valid form first answers a confirmation page
# (`confirmation`), and only the confirmed second post acts.

def _invoice_page(invoice_id: int, *, paid_form=None, credit_form=None, status: int = 200):
    page = pages.invoice_page(invoice_id, current_user)
    return render_template(
        "billing/backoffice_invoice.html", **pages.template_context(page),
        paid_form=paid_form or MarkPaidForm(formdata=None), credit_form=credit_form or CreditNoteForm(formdata=None),
    ), status


@bp.route("/backoffice/billing/invoices/<int:invoice_id>")
@roles_required(*BACK_OFFICE_ROLES)
def backoffice_invoice(invoice_id: int):
    return _invoice_page(invoice_id)


def _ask_confirmation(invoice_id: int, form, confirmation, check, *, form_name: str):
    """The confirmation page of a valid form, or the invoice page with the
    errors `check()` finds (the operator only: others are refused first)."""
    invoice = scope.visible_invoice(invoice_id, current_user)
    scope.require_operator(current_user)
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
        with form_action(form, passes=(403, 404)) as outcome:
            result = action()
        if outcome.succeeded:
            message, next_invoice_id = done(result)
            flash(message, "success")
            return redirect(url_for("billing.backoffice_invoice", invoice_id=next_invoice_id))
        if not outcome.error.fields:  # a refused state (say, already paid): said above the invoice
            flash(outcome.error.message, "error")
            return redirect(url_for("billing.backoffice_invoice", invoice_id=invoice_id))
    return _invoice_page(invoice_id, **{form_name: form}, status=422)


@bp.route("/backoffice/billing/invoices/<int:invoice_id>/mark-paid", methods=["POST"])
@roles_required(*BACK_OFFICE_ROLES)
def backoffice_mark_paid(invoice_id: int):
    form = MarkPaidForm()
    return _invoice_action(invoice_id, form, lambda: payments.mark_invoice_paid(
        invoice_id, actor=current_user, method=PaymentMethod(form.method.data), paid_on=form.paid_on.data,
        reference=form.reference.data,
    ), lambda payment: (_("The payment is recorded."), invoice_id), form_name="paid_form",
        check=lambda: payments.check_payment(method=PaymentMethod(form.method.data), paid_on=form.paid_on.data,
                                             reference=form.reference.data, now=now_utc()),
        confirmation=lambda invoice: dict(
            title=_("Record this payment?"), submit=_("Yes, mark as paid"),
            warning=_("A recorded payment cannot be changed or removed."),
            facts=[(_("Invoice"), invoice.number), (_("Customer"), invoice.buyer_name),
                   (_("Amount"), money(invoice.total_ttc_cents, invoice.currency)),
                   (_("Payment method"), PAYMENT_METHOD_LABELS.get(form.method.data, form.method.data)),
                   (_("Received on"), format_date(form.paid_on.data, "long")),
                   (_("Reference"), form.reference.data)]))


@bp.route("/backoffice/billing/invoices/<int:invoice_id>/credit-note", methods=["POST"])
@roles_required(*BACK_OFFICE_ROLES)
def backoffice_credit_note(invoice_id: int):
    form = CreditNoteForm()
    return _invoice_action(invoice_id, form, lambda: payments.issue_credit_note(
        invoice_id, actor=current_user, reason=form.reason.data,
    ), lambda credit: (_("Credit note %(number)s is issued.", number=credit.number), credit.id),
        form_name="credit_form", confirmation=lambda invoice: dict(
            title=_("Issue a credit note for invoice %(number)s?", number=invoice.number),
            submit=_("Yes, issue the credit note"),
            warning=_("The credit note cancels the whole invoice; it takes the next number and cannot be undone."),
            facts=[(_("Invoice"), invoice.number), (_("Customer"), invoice.buyer_name),
                   (_("Amount credited"), money(invoice.total_ttc_cents, invoice.currency)),
                   (_("Reason"), form.reason.data)]))


# -- one subscription: its file, its billing details, its cancellation -----------

def _subscription_page(subscription_id: int, *, details_form=None, status: int = 200):
    page = pages.subscription_file_page(subscription_id, current_user)
    return render_template(
        "billing/backoffice_subscription.html", **pages.template_context(page),
        details_form=details_form or BillingDetailsForm.of(page.subscription), cancel_form=ActionForm(),
    ), status


def _back_to(subscription_id: int):
    return redirect(url_for("billing.backoffice_subscription", subscription_id=subscription_id))


@bp.route("/backoffice/billing/subscriptions/<int:subscription_id>")
@roles_required(*BACK_OFFICE_ROLES)
def backoffice_subscription(subscription_id: int):
    return _subscription_page(subscription_id)


@bp.route("/backoffice/billing/subscriptions/<int:subscription_id>/billing-details", methods=["POST"])
@roles_required(*BACK_OFFICE_ROLES)
def backoffice_billing_details(subscription_id: int):
    return save_billing_details(
        lambda details: buyer_details.update_subscription_billing_details(subscription_id, details,
                                                                          actor=current_user),
        message=_("The billing details are saved; they appear on the next invoices."),
        done=lambda: _back_to(subscription_id),
        page=lambda form: _subscription_page(subscription_id, details_form=form, status=422))


def _confirm_cancellation(form, subscription):
    """The page asking the operator to confirm ending `subscription` now."""
    return confirmation_page(
        form, title=_("Cancel the subscription of %(name)s?", name=subscription.subscriber_name),
        submit=_("Yes, cancel the subscription"),
        back=url_for("billing.backoffice_subscription", subscription_id=subscription.id),
        warning=_("The subscription ends now: patients can no longer book online. Invoices already issued "
                  "stay due. This cannot be undone from the back office."),
        facts=[(_("Subscriber"), subscription.subscriber_name), (_("Plan"), plans.plan_name(subscription.plan)),
               (_("Status"), str(STATUS_LABELS[subscription.status.value]))])


@bp.route("/backoffice/billing/subscriptions/<int:subscription_id>/cancel", methods=["POST"])
@roles_required(*BACK_OFFICE_ROLES)
def backoffice_cancel_subscription(subscription_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return _back_to(subscription_id)
    subscription = backoffice.back_office_subscription(subscription_id, current_user)
    scope.require_operator(current_user)
    if not is_confirmed():
        return _confirm_cancellation(form, subscription)
    with form_action(passes=(403, 404)) as done:
        backoffice.cancel_subscription(subscription_id, actor=current_user)
    if done.succeeded:
        flash(_("The subscription is cancelled."), "success")
    return _back_to(subscription_id)
