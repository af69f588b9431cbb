"""Billing API: plans, the practitioner's subscription and invoices, the back office."""

import dataclasses

from flask import Response

from webapp.accounts.models import Role
from webapp.api.answers import answer
from webapp.api.auth import bearer_required, current_api_user, documented_errors, public_endpoint
from webapp.api.blueprint import Blueprint
from webapp.billing import (
    backoffice,
    buyer_details,
    checkout,
    invoicing,
    metrics,
    payments,
    periods,
    schemas,
    scope,
    subscriptions,
)
from webapp.billing.documents import CSV_COLUMNS, invoices_csv
from webapp.billing.models import InvoiceKind, PaymentMethod, SubscriptionStatus
from webapp.billing.plans import list_plans
from webapp.billing.scope import BACK_OFFICE_ROLES
from webapp.billing.spreadsheet import FILENAME as SPREADSHEET_FILENAME
from webapp.billing.spreadsheet import invoices_spreadsheet_csv
from webapp.extensions import db
from webapp.paging import paginate
from webapp.transaction import transaction
from webapp.urls import external_url

blp = Blueprint("billing_api", __name__, url_prefix="/api/v1", description="Billing and back office")

CSV_EXAMPLE = (",".join(CSV_COLUMNS) + "\r\n"
               + "2026-000052,invoice,2026-12-01T00:00:00+00:00,2026-12-31T00:00:00+00:00,Dr Claire Martin,"
                 "99700218896,8900,20,1780,10680,EUR,paid,,2026-12-15,VIR-SEPA-20261215-0042\r\n")


@blp.route("/billing/plans")
@public_endpoint
@blp.response(200, schemas.PlansSchema)
def plans():
    """The plans, priced per month in cents excluding VAT, with the VAT rate."""
    with transaction():
        return answer(schemas.PlansSchema, {"items": list_plans()})


@blp.route("/billing/subscription")
@bearer_required(Role.PRACTITIONER)
@blp.response(200, schemas.SubscriptionSchema)
@documented_errors(404)
def subscription():
    """The caller's subscription: plan, status, current period, provider."""
    return subscriptions.own_subscription(current_api_user())


@blp.route("/billing/subscription/cancel", methods=["POST"])
@bearer_required(Role.PRACTITIONER)
@blp.response(200, schemas.SubscriptionSchema)
@documented_errors(404, 409)
def cancel_subscription():
    """Stop at the end of the current period (manual provider; Stripe
    subscriptions are cancelled from the payment portal)."""
    with transaction():
        return answer(schemas.SubscriptionSchema, subscriptions.request_cancellation(current_api_user()))


@blp.route("/billing/subscription/resume", methods=["POST"])
@bearer_required(Role.PRACTITIONER)
@blp.response(200, schemas.SubscriptionSchema)
@documented_errors(404, 409)
def resume_subscription():
    """Withdraw a cancellation before the period ends."""
    with transaction():
        return answer(schemas.SubscriptionSchema, subscriptions.undo_cancellation(current_api_user()))


@blp.route("/billing/subscription/billing-details", methods=["PUT"])
@bearer_required(Role.PRACTITIONER)
@blp.arguments(schemas.BillingDetailsInputSchema)
@blp.response(200, schemas.SubscriptionSchema)
@documented_errors(404, 422)
def update_billing_details(data):
    """Set the company identity printed on the next invoices (company name,
    SIREN/SIRET, intra-community VAT number, billing address); 422 names
    each field at fault (a VAT number whose key or SIREN is wrong)."""
    with transaction():
        return answer(schemas.SubscriptionSchema, buyer_details.update_billing_details(current_api_user(), data))


def _page_url(endpoint: str) -> str:
    return external_url(endpoint)


@blp.route("/billing/checkout", methods=["POST"])
@bearer_required(Role.PRACTITIONER)
@blp.arguments(schemas.CheckoutInputSchema, required=False)
@blp.response(200, schemas.RedirectSchema)
@documented_errors(404, 409, 422)
def start_checkout(data):
    """A Stripe Checkout page to subscribe with a card (stripe provider);
    409 `provider_not_supported` with the manual provider."""
    # No transaction here: checkout records its pending state and commits
    # before it calls Stripe, so that no transaction stays open meanwhile.
    back = _page_url("billing.subscription")
    url = checkout.start_checkout(current_api_user(), success_url=data.get("success_url", back),
                                  cancel_url=data.get("cancel_url", back))
    return {"url": url}


@blp.route("/billing/portal", methods=["POST"])
@bearer_required(Role.PRACTITIONER)
@blp.response(200, schemas.RedirectSchema)
@documented_errors(404, 409)
def payment_portal():
    """A Stripe customer portal page to update the card or cancel."""
    return {"url": checkout.payment_portal_url(current_api_user(), return_url=_page_url("billing.subscription"))}


@blp.route("/billing/invoices")
@bearer_required(Role.PRACTITIONER)
@blp.arguments(schemas.PaginationQuerySchema, location="query")
@blp.response(200, schemas.InvoicePageSchema)
@documented_errors(404, 422)
def own_invoices(query):
    """The caller's invoices and credit notes, newest first."""
    return paginate(invoicing.own_invoices_query(current_api_user()), **query)


@blp.route("/billing/invoices/<int:invoice_id>/pdf")
@bearer_required(Role.PRACTITIONER, Role.STAFF, Role.ADMIN)
@blp.response(200, content_type="application/pdf", description="The invoice as a PDF document (`application/pdf`).")
@documented_errors(404)
def invoice_document(invoice_id):
    """The PDF of an invoice the caller may read (404 otherwise)."""
    return pdf_response(scope.visible_invoice(invoice_id, current_api_user()))


def pdf_response(invoice) -> Response:
    # A unit of work although it reads: an invoice issued before documents were
    # stored gets its PDF rendered and stored at the first download.
    with transaction():
        document = invoicing.invoice_document(invoice)
    return Response(document, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="carnet-{invoice.number}.pdf"',
        "Cache-Control": "private, no-store",
    })


def spreadsheet_csv_response(invoices) -> Response:
    """The CSV that French spreadsheets open (`spreadsheet`): ";", euros, dd/mm/yyyy, a UTF-8 BOM."""
    return Response(invoices_spreadsheet_csv(invoices, tz=periods.billing_timezone()),
                    mimetype="text/csv", headers={
                        "Content-Disposition": f'attachment; filename="{SPREADSHEET_FILENAME}"',
                        "Cache-Control": "private, no-store",
                    })


def csv_response(invoices) -> Response:
    return Response(invoices_csv(invoices), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="carnet-invoices.csv"',
        "Cache-Control": "private, no-store",
    })


# -- back office -----------------------------------------------------------------

@blp.route("/backoffice/subscriptions")
@bearer_required(*BACK_OFFICE_ROLES)
@blp.arguments(schemas.SubscriptionFilterSchema, location="query")
@blp.response(200, schemas.SubscriptionPageSchema)
@documented_errors(422)
def backoffice_subscriptions(query):
    """Subscriptions in the caller's scope (a clinic's staff: their clinic),
    by status and by `q` (name, email, clinic or company, SIREN/SIRET)."""
    status = SubscriptionStatus(query.pop("status")) if "status" in query else None
    statement = backoffice.search_subscriptions_query(current_api_user(), text=query.pop("q", None), status=status)
    return paginate(statement, **query)


@blp.route("/backoffice/subscriptions/<int:subscription_id>/billing-details", methods=["PUT"])
@bearer_required(*BACK_OFFICE_ROLES)
@blp.arguments(schemas.BillingDetailsInputSchema)
@blp.response(200, schemas.BackOfficeSubscriptionSchema)
@documented_errors(404, 422)
def backoffice_billing_details(data, subscription_id):
    """Set a subscription's company identity (a clinic's, typically): the
    operator for any, a clinic's accountants for their clinic's."""
    with transaction():
        subscription = buyer_details.update_subscription_billing_details(subscription_id, data,
                                                                         actor=current_api_user())
        return answer(schemas.BackOfficeSubscriptionSchema, subscription)


@blp.route("/backoffice/clinic-subscriptions", methods=["POST"])
@bearer_required(*BACK_OFFICE_ROLES)
@blp.arguments(schemas.ClinicSubscriptionInputSchema)
@blp.response(201, schemas.BackOfficeSubscriptionSchema)
@documented_errors(409, 422)
def backoffice_subscribe_clinic(data):
    """Move a clinic to the clinic plan (operator only): billed per practitioner."""
    with transaction():
        subscription = backoffice.subscribe_clinic(data["clinic_id"], actor=current_api_user())
        return answer(schemas.BackOfficeSubscriptionSchema, subscription, 201)


@blp.route("/backoffice/invoices")
@bearer_required(*BACK_OFFICE_ROLES)
@blp.arguments(schemas.InvoiceFilterSchema, location="query")
@blp.response(200, schemas.InvoicePageSchema)
@blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", example=CSV_EXAMPLE, success=True,
                  description="A page of invoices, or with `format=csv` every matching one as a CSV file.")
@documented_errors(422)
def backoffice_invoices(query):
    """Invoices and credit notes in the caller's scope, newest number first;
    `?format=csv` answers every matching one as CSV: by default for programs
    (",", amounts in cents, ISO dates), with `dialect=fr` for French
    spreadsheets (";", euros with a decimal comma, dd/mm/yyyy, UTF-8 BOM)."""
    statement = backoffice.invoices_query(
        current_api_user(), status=query.pop("status", None),
        kind=InvoiceKind(query.pop("kind")) if "kind" in query else None,
    )
    dialect = query.pop("dialect")
    # CSV: every matching invoice, not one page (an export for the accountant).
    if query.pop("format") == "csv":
        invoices = db.session.scalars(statement)
        return spreadsheet_csv_response(invoices) if dialect == "fr" else csv_response(invoices)
    return paginate(statement, **query)


@blp.route("/backoffice/invoices/<int:invoice_id>/mark-paid", methods=["POST"])
@bearer_required(*BACK_OFFICE_ROLES)
@blp.arguments(schemas.MarkPaidSchema)
@blp.response(200, schemas.PaymentSchema)
@documented_errors(404, 409, 422)
def backoffice_mark_paid(data, invoice_id):
    """Record a bank transfer or cheque for an open invoice (operator only)."""
    with transaction():
        payment = payments.mark_invoice_paid(invoice_id, actor=current_api_user(), method=PaymentMethod(data["method"]),
                                             paid_on=data["paid_on"], reference=data["reference"])
        return answer(schemas.PaymentSchema, payment)


@blp.route("/backoffice/invoices/<int:invoice_id>/credit-note", methods=["POST"])
@bearer_required(*BACK_OFFICE_ROLES)
@blp.arguments(schemas.CreditNoteInputSchema)
@blp.response(201, schemas.InvoiceSchema)
@documented_errors(404, 409, 422)
def backoffice_credit_note(data, invoice_id):
    """Cancel or refund an invoice with a credit note (operator only)."""
    with transaction():
        credit_note = payments.issue_credit_note(invoice_id, actor=current_api_user(), reason=data["reason"])
        return answer(schemas.InvoiceSchema, credit_note, 201)


@blp.route("/backoffice/failed-payments")
@bearer_required(*BACK_OFFICE_ROLES)
@blp.arguments(schemas.PaginationQuerySchema, location="query")
@blp.response(200, schemas.FailedPaymentPageSchema)
@documented_errors(422)
def backoffice_failed_payments(query):
    """Past-due and suspended subscriptions with what they owe."""
    return paginate(backoffice.failed_payments_query(current_api_user()), **query)


@blp.route("/backoffice/metrics")
@bearer_required(*BACK_OFFICE_ROLES)
@blp.response(200, schemas.MetricsSchema)
def backoffice_metrics():
    """MRR (HT cents), counts by status, and the net amount invoiced per month."""
    user = current_api_user()
    history = [{"month": month.strftime("%Y-%m"), "net_ht_cents": cents}
               for month, cents in metrics.monthly_revenue(user)]
    return dataclasses.asdict(metrics.metrics(user)) | {"mrr_history": history}
