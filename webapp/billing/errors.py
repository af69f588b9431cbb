"""Errors raised by the billing services."""

from flask_babel import lazy_gettext as _l

from webapp.errors import CarnetError, Conflict, InvalidInput, NotFound


class NoSubscription(NotFound):
    code = "no_subscription"
    default_message = _l("There is no subscription for this account.")


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
    default_message = _l("This invoice does not exist.")


class InvoiceAlreadyPaid(Conflict):
    code = "invoice_already_paid"
    default_message = _l("This invoice is already paid.")


class InvoiceAlreadyCredited(Conflict):
    code = "invoice_already_credited"
    default_message = _l("A credit note already cancels this invoice.")


class NotAnInvoice(Conflict):
    code = "not_an_invoice"
    default_message = _l("A credit note cannot be paid or credited.")


class ProviderNotSupported(Conflict):
    code = "provider_not_supported"
    default_message = _l("Online payment is not available: pay by bank transfer or cheque.")


class NoPaymentAccount(Conflict):
    code = "no_payment_account"
    default_message = _l("Subscribe online first: there is no payment account to manage yet.")


class SubscriptionNotActive(Conflict):
    code = "subscription_not_active"
    default_message = _l("This subscription cannot be changed in its current state.")


class ManagedByStripe(Conflict):
    code = "managed_by_stripe"
    default_message = _l("This subscription is paid online: change it from the payment portal.")


class ClinicAlreadySubscribed(Conflict):
    code = "clinic_already_subscribed"
    default_message = _l("This clinic already has a subscription.")


class InvalidBillingData(InvalidInput):
    pass


class PaymentProviderUnavailable(CarnetError):
    status = 502
    code = "payment_provider_unavailable"
    default_message = _l("The payment service did not answer. Try again in a few minutes.")


class InvalidWebhookSignature(CarnetError):
    status = 400
    code = "invalid_signature"
    default_message = _l("The webhook signature is missing or does not match.")
