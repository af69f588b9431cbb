"""Marshmallow schemas of the billing API (input and output kept apart)."""

import marshmallow as ma
from marshmallow import validate

from webapp.api.pagination import PaginationQuerySchema, page_schema
from webapp.billing.models import PaymentMethod, SubscriptionStatus
from webapp.billing.services import INVOICE_STATUSES, invoice_status, plan_name


class PlanSchema(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.Function(plan_name, required=True)
    price_cents = ma.fields.Integer(required=True, metadata={"description": "Per month, excluding VAT (HT)."})
    vat_rate = ma.fields.Function(lambda plan: plan.vat_rate_bp / 100, required=True,
                                  metadata={"description": "Percent, e.g. 20."})
    price_ttc_cents = ma.fields.Method("_price_ttc", required=True)
    currency = ma.fields.String(required=True)
    interval = ma.fields.String(required=True)
    per_practitioner = ma.fields.Boolean(required=True)

    def _price_ttc(self, plan):
        from webapp.billing.money import line_amounts

        return line_amounts(plan.price_cents, 1, plan.vat_rate_bp).total_ttc_cents


class PlansSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PlanSchema), required=True)


class SubscriptionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    plan = ma.fields.Nested(PlanSchema, required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in SubscriptionStatus]))
    provider = ma.fields.String(required=True)
    trial_ends_at = ma.fields.AwareDateTime(allow_none=True)
    current_period_start = ma.fields.AwareDateTime(required=True)
    current_period_end = ma.fields.AwareDateTime(required=True)
    cancel_at_period_end = ma.fields.Boolean(required=True)
    past_due_since = ma.fields.AwareDateTime(allow_none=True)
    suspended_at = ma.fields.AwareDateTime(allow_none=True)


class BackOfficeSubscriptionSchema(SubscriptionSchema):
    subscriber = ma.fields.String(attribute="subscriber_name", required=True)
    practitioner_id = ma.fields.Integer(allow_none=True)
    clinic_id = ma.fields.Integer(allow_none=True)


class InvoiceLineSchema(ma.Schema):
    description = ma.fields.String(required=True)
    quantity = ma.fields.Integer(required=True)
    unit_price_ht_cents = ma.fields.Integer(required=True)
    total_ht_cents = ma.fields.Integer(required=True)
    vat_rate = ma.fields.Function(lambda line: line.vat_rate_bp / 100, required=True)
    vat_cents = ma.fields.Integer(required=True)
    total_ttc_cents = ma.fields.Integer(required=True)


class InvoiceSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    number = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "invoice or credit_note"})
    issued_at = ma.fields.AwareDateTime(required=True)
    due_at = ma.fields.AwareDateTime(required=True)
    period_start = ma.fields.AwareDateTime(allow_none=True)
    period_end = ma.fields.AwareDateTime(allow_none=True)
    total_ht_cents = ma.fields.Integer(required=True)
    vat_cents = ma.fields.Integer(required=True)
    total_ttc_cents = ma.fields.Integer(required=True)
    currency = ma.fields.String(required=True)
    status = ma.fields.Function(invoice_status, required=True,
                                metadata={"description": "open, paid or credited; issued for a credit note"})
    credit_of = ma.fields.Function(lambda invoice: invoice.credit_of.number if invoice.credit_of else None,
                                   allow_none=True)
    seller_name = ma.fields.String(required=True)
    buyer_name = ma.fields.String(required=True)
    lines = ma.fields.List(ma.fields.Nested(InvoiceLineSchema), required=True)


InvoicePageSchema = page_schema(InvoiceSchema, "InvoicePage")
SubscriptionPageSchema = page_schema(BackOfficeSubscriptionSchema, "SubscriptionPage")


class FailedPaymentSchema(BackOfficeSubscriptionSchema):
    overdue_ttc_cents = ma.fields.Method("_overdue", required=True)

    def _overdue(self, subscription):
        from webapp.billing.services import overdue_amount_cents

        return overdue_amount_cents(subscription)


FailedPaymentPageSchema = page_schema(FailedPaymentSchema, "FailedPaymentPage")


class CheckoutInputSchema(ma.Schema):
    success_url = ma.fields.Url(validate=validate.Length(max=500),
                                metadata={"description": "Where Stripe sends the practitioner back after paying."})
    cancel_url = ma.fields.Url(validate=validate.Length(max=500))


class RedirectSchema(ma.Schema):
    url = ma.fields.String(required=True)


class SubscriptionFilterSchema(PaginationQuerySchema):
    status = ma.fields.String(validate=validate.OneOf([s.value for s in SubscriptionStatus]))


class InvoiceFilterSchema(PaginationQuerySchema):
    status = ma.fields.String(validate=validate.OneOf(INVOICE_STATUSES))
    kind = ma.fields.String(validate=validate.OneOf(["invoice", "credit_note"]))
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]),
                              metadata={"description": "csv: every matching invoice as a CSV file (no paging)."})


class MarkPaidSchema(ma.Schema):
    method = ma.fields.String(required=True, validate=validate.OneOf(
        [PaymentMethod.BANK_TRANSFER.value, PaymentMethod.CHEQUE.value]))
    paid_on = ma.fields.Date(required=True)
    reference = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))


class PaymentSchema(ma.Schema):
    invoice_id = ma.fields.Integer(required=True)
    method = ma.fields.String(required=True)
    amount_cents = ma.fields.Integer(required=True)
    paid_on = ma.fields.Date(required=True)
    reference = ma.fields.String(required=True)


class CreditNoteInputSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=300))


class ClinicSubscriptionInputSchema(ma.Schema):
    clinic_id = ma.fields.Integer(required=True, validate=validate.Range(min=1))


class MetricsSchema(ma.Schema):
    mrr_cents = ma.fields.Integer(required=True, metadata={"description": "Monthly recurring revenue, HT."})
    active = ma.fields.Integer(required=True)
    trialing = ma.fields.Integer(required=True)
    past_due = ma.fields.Integer(required=True)
    suspended = ma.fields.Integer(required=True)
    cancelled = ma.fields.Integer(required=True)
    mrr_history = ma.fields.List(ma.fields.Dict(), required=True,
                                 metadata={"description": "[{month: YYYY-MM, net_ht_cents}] over 12 months."})
