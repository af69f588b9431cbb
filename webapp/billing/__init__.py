"""Billing: plans, practitioner subscriptions, invoices, payment providers."""

from flask import Blueprint, Flask

bp = Blueprint("billing", __name__, template_folder="templates")

from webapp.billing import views, webhooks  # noqa: E402,F401  (registers the routes)


def register_billing(app: Flask) -> None:
    """Pages, CLI, template filters, and the trial every new practitioner starts."""
    from webapp.accounts.services import practitioner_registered
    from webapp.billing.jobs import billing_cli
    from webapp.billing.money import format_money, format_vat_rate
    from webapp.billing.services import start_trial_for_new_practitioner

    practitioner_registered.connect(start_trial_for_new_practitioner)
    app.register_blueprint(bp)
    app.cli.add_command(billing_cli)
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["vat_rate"] = format_vat_rate
