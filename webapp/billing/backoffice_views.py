"""Back-office pages of one subscription: its file, its billing details and its cancellation."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.billing import backoffice, bp, buyer_details, services
from webapp.billing.confirmation import confirmation_page, is_confirmed
from webapp.billing.forms import ActionForm, BillingDetailsForm
from webapp.billing.views import BACK_OFFICE, STATUS_LABELS, roles_required, save_billing_details
from webapp.errors import CarnetError
from webapp.transaction import transaction


def _subscription_page(subscription_id: int, *, details_form=None, status: int = 200):
    subscription = backoffice.back_office_subscription(subscription_id, current_user)
    return render_template(
        "billing/backoffice_subscription.html", subscription=subscription,
        plan_name=services.plan_name(subscription.plan), history=backoffice.status_history(subscription),
        invoices=backoffice.subscription_invoices(subscription),
        payments=backoffice.subscription_payments(subscription),
        overdue_cents=services.overdue_amount_cents(subscription), is_operator=services.is_operator(current_user),
        details_form=details_form or BillingDetailsForm.of(subscription), cancel_form=ActionForm(),
    ), status


def _back_to(subscription_id: int):
    return redirect(url_for("billing.backoffice_subscription", subscription_id=subscription_id))


@bp.route("/backoffice/billing/subscriptions/<int:subscription_id>")
@roles_required(*BACK_OFFICE)
def backoffice_subscription(subscription_id: int):
    return _subscription_page(subscription_id)


@bp.route("/backoffice/billing/subscriptions/<int:subscription_id>/billing-details", methods=["POST"])
@roles_required(*BACK_OFFICE)
def backoffice_billing_details(subscription_id: int):
    return save_billing_details(
        lambda details: buyer_details.update_subscription_billing_details(subscription_id, details,
                                                                          actor=current_user),
        message=_("The billing details are saved; they appear on the next invoices."),
        done=lambda: _back_to(subscription_id),
        page=lambda form: _subscription_page(subscription_id, details_form=form, status=422))


@bp.route("/backoffice/billing/subscriptions/<int:subscription_id>/cancel", methods=["POST"])
@roles_required(*BACK_OFFICE)
def backoffice_cancel_subscription(subscription_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return _back_to(subscription_id)
    subscription = backoffice.back_office_subscription(subscription_id, current_user)
    services.require_operator(current_user)
    if not is_confirmed():
        return confirmation_page(
            form, title=_("Cancel the subscription of %(name)s?", name=subscription.subscriber_name),
            submit=_("Yes, cancel the subscription"), back=url_for("billing.backoffice_subscription",
                                                                   subscription_id=subscription_id),
            warning=_("The subscription ends now: patients can no longer book online. Invoices already issued "
                      "stay due. This cannot be undone from the back office."),
            facts=[(_("Subscriber"), subscription.subscriber_name), (_("Plan"), services.plan_name(subscription.plan)),
                   (_("Status"), str(STATUS_LABELS[subscription.status.value]))])
    try:
        with transaction():
            backoffice.cancel_subscription(subscription_id, actor=current_user)
    except CarnetError as error:
        if error.status in (403, 404):
            raise
        flash(error.message, "error")
    else:
        flash(_("The subscription is cancelled."), "success")
    return _back_to(subscription_id)
