"""The manual provider: invoices from the monthly job, paid by bank transfer
or cheque and recorded by the back office. Nothing online."""

from webapp.billing.errors import ProviderNotSupported
from webapp.billing.models import ProviderName
from webapp.billing.providers import CheckoutRequest


class ManualProvider:
    name = ProviderName.MANUAL
    invoices_by_job = True

    def create_customer(self, request: CheckoutRequest) -> str:
        raise ProviderNotSupported()

    def checkout_url(self, request: CheckoutRequest) -> str:
        raise ProviderNotSupported()

    def portal_url(self, customer_id: str, return_url: str) -> str:
        raise ProviderNotSupported()
