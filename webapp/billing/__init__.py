"""Billing: plans, practitioner subscriptions, invoices, payment providers."""

from flask import Blueprint, Flask

bp = Blueprint("billing", __name__, template_folder="templates")

from webapp.billing import backoffice_views, subscription_views, views, webhooks  # noqa: E402,F401  (registers the routes)


def check_billing_settings(config) -> None:
    """Refuse to start with a billing configuration that would fail later."""
    from config import ConfigurationError
    from webapp.billing.money import vat_rate_basis_points
    from webapp.billing.vat_exemption import check_exemption_settings

    provider = config["CARNET_BILLING_PROVIDER"]
    if provider not in ("manual", "stripe"):
        raise ConfigurationError(f"CARNET_BILLING_PROVIDER must be manual or stripe, not {provider!r}.")
    try:
        vat_rate_basis_points(config["CARNET_VAT_RATE"])
    except (ArithmeticError, ValueError):
        raise ConfigurationError(f"CARNET_VAT_RATE {config['CARNET_VAT_RATE']!r} is not a percentage.") from None
    if problem := check_exemption_settings(config):
        raise ConfigurationError(problem)
    if provider == "stripe" and config["CARNET_ENV"] == "production" and not (
        config["STRIPE_SECRET_KEY"] and config["STRIPE_WEBHOOK_SECRET"] and config["STRIPE_PRICE_ID"]
    ):
        raise ConfigurationError(
            "The stripe provider needs STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and STRIPE_PRICE_ID.")


def register_billing(app: Flask) -> None:
    """Pages, CLI, and the trial every new practitioner starts."""
    from webapp.accounts.registration import practitioner_registered
    from webapp.billing.jobs import billing_cli
    from webapp.billing.subscriptions import start_trial_for_new_practitioner

    check_billing_settings(app.config)

    practitioner_registered.connect(start_trial_for_new_practitioner)
    app.register_blueprint(bp)
    app.cli.add_command(billing_cli)
