"""Marshmallow schemas of the billing API (input and output kept apart)."""

import marshmallow as ma
from marshmallow import validate

from webapp.api.pagination import PaginationQuerySchema, page_schema
from webapp.billing.buyer_details import billing_details
from webapp.billing.models import PaymentMethod, SubscriptionStatus
from webapp.billing.money import line_amounts
from webapp.billing.payments import INVOICE_STATUSES, invoice_status, overdue_amount_cents
from webapp.billing.plans import plan_name
from webapp.billing.rules import (
    BUYER_DETAILS_MAX_LENGTHS,
    CREDIT_NOTE_REASON_MAX_LENGTH,
    PAYMENT_REFERENCE_MAX_LENGTH,
    RETURN_URL_MAX_LENGTH,
    SEARCH_MAX_LENGTH,
)


class PlanSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "practitioner"})
    name = ma.fields.Function(plan_name, required=True, metadata={"type": "string", "example": "Praticien"})
    price_cents = ma.fields.Integer(required=True,
                                    metadata={"description": "Per month, excluding VAT (HT).", "example": 8900})
    vat_rate = ma.fields.Function(lambda plan: plan.vat_rate_bp / 100, required=True,
                                  metadata={"type": "number", "description": "Percent, e.g. 20.", "example": 20.0})
    price_ttc_cents = ma.fields.Method("_price_ttc", required=True, metadata={"type": "integer", "example": 10680})
    currency = ma.fields.String(required=True, metadata={"example": "EUR"})
    interval = ma.fields.String(required=True, metadata={"example": "month"})
    per_practitioner = ma.fields.Boolean(required=True, metadata={"example": False})

    def _price_ttc(self, plan):
        return line_amounts(plan.price_cents, 1, plan.vat_rate_bp).total_ttc_cents


class PlansSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PlanSchema), required=True)


class BillingDetailsSchema(ma.Schema):
    """The company the invoices are made out to (each field null when not given)."""
    name = ma.fields.String(allow_none=True, metadata={"example": "SELARL Cabinet Martin"})
    siret = ma.fields.String(allow_none=True, metadata={"description": "SIREN (9 digits) or SIRET (14).",
                                                        "example": "30326504500017"})
    vat_number = ma.fields.String(allow_none=True, metadata={"example": "FR40303265045"})
    street = ma.fields.String(allow_none=True, metadata={"example": "12 rue des Lilas"})
    postcode = ma.fields.String(allow_none=True, metadata={"example": "69003"})
    city = ma.fields.String(allow_none=True, metadata={"example": "Lyon"})


def _detail(name: str, example: str) -> ma.fields.String:
    return ma.fields.String(validate=validate.Length(max=BUYER_DETAILS_MAX_LENGTHS[name]),
                            metadata={"example": example})


class BillingDetailsInputSchema(ma.Schema):
    """Every field optional: an absent or empty one is cleared. The service
    checks the SIREN/SIRET, the VAT number (a French one's key and SIREN) and
    that the address is whole (422 naming each field at fault)."""
    name = _detail("name", "SELARL Cabinet Martin")
    siret = _detail("siret", "303 265 045 00017")
    vat_number = _detail("vat_number", "FR 40 303265045")
    street = _detail("street", "12 rue des Lilas")
    postcode = _detail("postcode", "69003")
    city = _detail("city", "Lyon")


class SubscriptionSchema(ma.Schema):
    id = ma.fields.Integer(required=True, metadata={"example": 14})
    plan = ma.fields.Nested(PlanSchema, required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in SubscriptionStatus]),
                              metadata={"example": "active"})
    provider = ma.fields.String(required=True, metadata={"example": "manual"})
    trial_ends_at = ma.fields.AwareDateTime(allow_none=True, metadata={"example": None})
    current_period_start = ma.fields.AwareDateTime(required=True, metadata={"example": "2026-12-01T00:00:00+01:00"})
    current_period_end = ma.fields.AwareDateTime(required=True, metadata={"example": "2027-01-01T00:00:00+01:00"})
    cancel_at_period_end = ma.fields.Boolean(required=True, metadata={"example": False})
    past_due_since = ma.fields.AwareDateTime(allow_none=True, metadata={"example": None})
    suspended_at = ma.fields.AwareDateTime(allow_none=True, metadata={"example": None})
    billing_details = ma.fields.Function(
        lambda subscription: BillingDetailsSchema().dump(billing_details(subscription)),
        required=True, metadata={"type": "object", "example": {
            "name": "SELARL Cabinet Martin", "siret": "30326504500003",
            "vat_number": "FR40303265045", "street": "12 rue des Lilas",
            "postcode": "69003", "city": "Lyon"}})


class BackOfficeSubscriptionSchema(SubscriptionSchema):
    subscriber = ma.fields.String(attribute="subscriber_name", required=True,
                                  metadata={"example": "Dr Claire Martin"})
    practitioner_id = ma.fields.Integer(allow_none=True, metadata={"example": 7})
    clinic_id = ma.fields.Integer(allow_none=True, metadata={"example": None})


class InvoiceLineSchema(ma.Schema):
    description = ma.fields.String(required=True, metadata={"example": "Abonnement Carnet praticien, décembre 2026"})
    quantity = ma.fields.Integer(required=True, metadata={"example": 1})
    unit_price_ht_cents = ma.fields.Integer(required=True, metadata={"example": 8900})
    total_ht_cents = ma.fields.Integer(required=True, metadata={"example": 8900})
    vat_rate = ma.fields.Function(lambda line: line.vat_rate_bp / 100, required=True,
                                  metadata={"type": "number", "example": 20.0})
    vat_cents = ma.fields.Integer(required=True, metadata={"example": 1780})
    total_ttc_cents = ma.fields.Integer(required=True, metadata={"example": 10680})


class InvoiceSchema(ma.Schema):
    id = ma.fields.Integer(required=True, metadata={"example": 52})
    number = ma.fields.String(required=True, metadata={"example": "2026-000052"})
    kind = ma.fields.String(required=True, metadata={"example": "invoice", "description": "invoice or credit_note"})
    issued_at = ma.fields.AwareDateTime(required=True, metadata={"example": "2026-12-01T00:00:00+01:00"})
    due_at = ma.fields.AwareDateTime(required=True, metadata={"example": "2026-12-31T00:00:00+01:00"})
    period_start = ma.fields.AwareDateTime(allow_none=True, metadata={"example": "2026-12-01T00:00:00+01:00"})
    period_end = ma.fields.AwareDateTime(allow_none=True, metadata={"example": "2027-01-01T00:00:00+01:00"})
    total_ht_cents = ma.fields.Integer(required=True, metadata={"example": 8900})
    vat_cents = ma.fields.Integer(required=True, metadata={"example": 1780})
    total_ttc_cents = ma.fields.Integer(required=True, metadata={"example": 10680})
    currency = ma.fields.String(required=True, metadata={"example": "EUR"})
    status = ma.fields.Function(invoice_status, required=True, metadata={
        "type": "string", "enum": list(INVOICE_STATUSES),
        "description": "open, paid or credited; issued for a credit note", "example": "open"})
    credit_of = ma.fields.Function(lambda invoice: invoice.credit_of.number if invoice.credit_of else None,
                                   allow_none=True, metadata={"type": "string", "example": None})
    seller_name = ma.fields.String(required=True, metadata={"example": "Carnet SAS"})
    buyer_name = ma.fields.String(required=True, metadata={"example": "Dr Claire Martin"})
    lines = ma.fields.List(ma.fields.Nested(InvoiceLineSchema), required=True)


InvoicePageSchema = page_schema(InvoiceSchema, "InvoicePage")
SubscriptionPageSchema = page_schema(BackOfficeSubscriptionSchema, "SubscriptionPage")


class FailedPaymentSchema(BackOfficeSubscriptionSchema):
    overdue_ttc_cents = ma.fields.Method("_overdue", required=True, metadata={"type": "integer", "example": 10680})

    def _overdue(self, subscription):
        return overdue_amount_cents(subscription)


FailedPaymentPageSchema = page_schema(FailedPaymentSchema, "FailedPaymentPage")


class CheckoutInputSchema(ma.Schema):
    success_url = ma.fields.Url(validate=validate.Length(max=RETURN_URL_MAX_LENGTH), metadata={
        "description": "Where Stripe sends the practitioner back after paying.",
        "example": "https://cabinet-martin.example.fr/abonnement/merci"})
    cancel_url = ma.fields.Url(validate=validate.Length(max=RETURN_URL_MAX_LENGTH),
                               metadata={"example": "https://cabinet-martin.example.fr/abonnement"})


class RedirectSchema(ma.Schema):
    url = ma.fields.String(required=True, metadata={"example": "https://checkout.stripe.com/c/pay/cs_test_a1b2c3"})


class SubscriptionFilterSchema(PaginationQuerySchema):
    status = ma.fields.String(validate=validate.OneOf([s.value for s in SubscriptionStatus]),
                              metadata={"example": "past_due"})
    q = ma.fields.String(validate=validate.Length(max=SEARCH_MAX_LENGTH), metadata={
        "description": "Part of the practitioner's name or email, the clinic or company name, or the start of "
                       "the SIREN/SIRET.", "example": "martin"})


class InvoiceFilterSchema(PaginationQuerySchema):
    status = ma.fields.String(validate=validate.OneOf(INVOICE_STATUSES), metadata={"example": "open"})
    kind = ma.fields.String(validate=validate.OneOf(["invoice", "credit_note"]), metadata={"example": "invoice"})
    format = ma.fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]),
                              metadata={"description": "csv: every matching invoice as a CSV file (no paging).",
                                        "example": "json"})
    dialect = ma.fields.String(load_default="machine", validate=validate.OneOf(["machine", "fr"]), metadata={
        "description": "With format=csv: machine (\",\", amounts in cents, ISO 8601 times) or fr, for French "
                       "spreadsheets (\";\", euros with a decimal comma, dd/mm/yyyy dates, French headers, "
                       "UTF-8 BOM).", "example": "machine"})


class MarkPaidSchema(ma.Schema):
    method = ma.fields.String(required=True, validate=validate.OneOf(
        [PaymentMethod.BANK_TRANSFER.value, PaymentMethod.CHEQUE.value]), metadata={"example": "bank_transfer"})
    paid_on = ma.fields.Date(required=True, metadata={"example": "2026-12-15"})
    reference = ma.fields.String(required=True, validate=validate.Length(min=1, max=PAYMENT_REFERENCE_MAX_LENGTH),
                                 metadata={"example": "VIR-SEPA-20261215-0042"})


class PaymentSchema(ma.Schema):
    invoice_id = ma.fields.Integer(required=True, metadata={"example": 52})
    method = ma.fields.String(required=True, metadata={"example": "bank_transfer"})
    amount_cents = ma.fields.Integer(required=True, metadata={"example": 10680})
    paid_on = ma.fields.Date(required=True, metadata={"example": "2026-12-15"})
    reference = ma.fields.String(required=True, metadata={"example": "VIR-SEPA-20261215-0042"})


class CreditNoteInputSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=CREDIT_NOTE_REASON_MAX_LENGTH),
                              metadata={"example": "Facturation en double du mois de décembre"})


class ClinicSubscriptionInputSchema(ma.Schema):
    clinic_id = ma.fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={"example": 2})


class MetricsSchema(ma.Schema):
    mrr_cents = ma.fields.Integer(required=True,
                                  metadata={"description": "Monthly recurring revenue, HT.", "example": 178000})
    active = ma.fields.Integer(required=True, metadata={"example": 18})
    trialing = ma.fields.Integer(required=True, metadata={"example": 3})
    past_due = ma.fields.Integer(required=True, metadata={"example": 1})
    suspended = ma.fields.Integer(required=True, metadata={"example": 0})
    cancelled = ma.fields.Integer(required=True, metadata={"example": 2})
    mrr_history = ma.fields.List(ma.fields.Dict(), required=True,
                                 metadata={"description": "[{month: YYYY-MM, net_ht_cents}] over 12 months.",
                                           "example": [{"month": "2026-11", "net_ht_cents": 169100}]})
