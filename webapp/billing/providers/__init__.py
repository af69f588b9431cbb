"""Payment providers behind one interface: `manual` (default) and `stripe`.

A provider only talks to the outside world; the billing services own the
state. Calls that reach the network are made outside any open transaction
(see `webapp.billing.checkout`).
"""

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from flask import current_app

from webapp.billing.models import ProviderName


@dataclass(frozen=True)
class CheckoutRequest:
    """What a provider needs to start an online subscription (plain data,
    read in one short transaction before any network call)."""

    subscription_id: int
    customer_id: str | None
    email: str
    name: str
    price_id: str
    quantity: int
    trial_end: dt.datetime | None
    success_url: str
    cancel_url: str


class PaymentProvider(Protocol):
    name: ProviderName
    # Manual invoices are issued by the monthly job; Stripe's follow its webhooks.
    invoices_by_job: bool

    def create_customer(self, request: CheckoutRequest) -> str:
        """The provider's customer id for this subscriber."""

    def checkout_url(self, request: CheckoutRequest) -> str:
        """A page where the subscriber enters a payment method and subscribes."""

    def portal_url(self, customer_id: str, return_url: str) -> str:
        """A page where the subscriber updates their payment method or cancels."""


def get_provider(name: ProviderName | str | None = None) -> PaymentProvider:
    """The named provider, or the configured one (`CARNET_BILLING_PROVIDER`)."""
    from webapp.billing.providers.manual import ManualProvider
    from webapp.billing.providers.stripe import StripeProvider

    name = ProviderName(name or current_app.config["CARNET_BILLING_PROVIDER"])
    return StripeProvider() if name is ProviderName.STRIPE else ManualProvider()
