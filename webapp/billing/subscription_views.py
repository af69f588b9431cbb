"""The practitioner's subscription pages: status, invoices, billing details,
checkout and payment portal, cancellation."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.accounts.models import Role
from webapp.billing import bp, buyer_details, checkout, pages, subscriptions
from webapp.billing.forms import ActionForm, BillingDetailsForm
from webapp.billing.views import save_billing_details
from webapp.paging import page_number
from webapp.urls import external_url
from webapp.web import domain_errors, form_action, roles_required


@bp.route("/billing/subscription")
@roles_required(Role.PRACTITIONER)
def subscription(details_form=None, status: int = 200):
    page = pages.subscription_page(current_user, page=page_number())
    if page is None:
        return render_template("billing/subscription.html", subscription=None)
    return render_template(
        "billing/subscription.html", **pages.template_context(page), form=ActionForm(),
        details_form=details_form or BillingDetailsForm.of(page.subscription),
    ), status


@bp.route("/billing/subscription/details", methods=["POST"])
@roles_required(Role.PRACTITIONER)
def subscription_details():
    return save_billing_details(
        lambda details: buyer_details.update_billing_details(current_user, details),
        message=_("Your billing details are saved; they appear on your next invoices."),
        done=lambda: redirect(url_for("billing.subscription")),
        page=lambda form: subscription(details_form=form, status=422))


def _subscription_action(action) -> object:
    if not ActionForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return redirect(url_for("billing.subscription"))
    # The action runs its own transactions: checkout and the portal call Stripe with none open.
    with domain_errors():
        return action()
    return redirect(url_for("billing.subscription"))


@bp.route("/billing/subscription/checkout", methods=["POST"])
@roles_required(Role.PRACTITIONER)
def subscription_checkout():
    # Stripe sends the browser back here: the link must be absolute. 303: the browser follows with a GET.
    back = external_url("billing.subscription")
    return _subscription_action(lambda: redirect(
        checkout.start_checkout(current_user, success_url=back, cancel_url=back), code=303))


@bp.route("/billing/subscription/portal", methods=["POST"])
@roles_required(Role.PRACTITIONER)
def subscription_portal():
    back = external_url("billing.subscription")
    return _subscription_action(lambda: redirect(checkout.payment_portal_url(current_user, return_url=back), code=303))


def _change_subscription(service, message):
    with form_action() as done:
        service(current_user)
    if done.succeeded:
        flash(message, "success")
    return redirect(url_for("billing.subscription"))


@bp.route("/billing/subscription/cancel", methods=["POST"])
@roles_required(Role.PRACTITIONER)
def subscription_cancel():
    return _subscription_action(lambda: _change_subscription(
        subscriptions.request_cancellation, _("Your subscription will end at the end of the current period.")))


@bp.route("/billing/subscription/resume", methods=["POST"])
@roles_required(Role.PRACTITIONER)
def subscription_resume():
    return _subscription_action(lambda: _change_subscription(
        subscriptions.undo_cancellation, _("Your subscription continues.")))
