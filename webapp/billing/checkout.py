"""Online subscription through the configured provider, in three steps:
read what the provider needs and commit, call it with no transaction open,
record the result in a new transaction. Used by the page and the API."""

from webapp.accounts.models import User
from webapp.billing import plans, stripe_sync, subscriptions
from webapp.billing.errors import NoPaymentAccount, ProviderNotSupported
from webapp.billing.providers import CheckoutRequest, get_provider
from webapp.transaction import transaction


def _checkout_request(user: User, success_url: str, cancel_url: str) -> CheckoutRequest:
    plans.sync_plans()  # picks up the configured Stripe price ids
    subscription = subscriptions.own_subscription(user)
    plan = subscription.plan
    if not plan.stripe_price_id:
        raise ProviderNotSupported()
    return CheckoutRequest(
        subscription_id=subscription.id, customer_id=subscription.stripe_customer_id, email=user.email,
        name=subscription.subscriber_name, price_id=plan.stripe_price_id,
        quantity=subscriptions.subscription_quantity(subscription),
        trial_end=subscription.trial_ends_at if subscription.status.value == "trialing" else None,
        success_url=success_url, cancel_url=cancel_url,
    )


def start_checkout(user: User, *, success_url: str, cancel_url: str) -> str:
    """The provider's checkout page for the practitioner's own subscription."""
    provider = get_provider()
    with transaction():
        request = _checkout_request(user, success_url, cancel_url)
    if request.customer_id is None:
        customer_id = provider.create_customer(request)
        with transaction():
            stripe_sync.record_stripe_customer(request.subscription_id, customer_id)
            request = _checkout_request(user, success_url, cancel_url)
    return provider.checkout_url(request)


def payment_portal_url(user: User, *, return_url: str) -> str:
    """The provider's page to update the payment method or cancel."""
    provider = get_provider()
    with transaction():
        customer_id = subscriptions.own_subscription(user).stripe_customer_id
    if customer_id is None:
        raise NoPaymentAccount()
    return provider.portal_url(customer_id, return_url)
