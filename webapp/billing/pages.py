"""What each composed billing page shows, gathered by one service per page
(as the notebook's `notebook_page`): the view parses the request, calls one
of these, adds its forms and renders. They read only.
"""

import dataclasses
import datetime as dt
from dataclasses import dataclass

from flask import current_app

from webapp.accounts.models import User
from webapp.billing import backoffice
from webapp.billing.bookability import is_bookable
from webapp.billing.invoicing import next_invoice_estimate, own_invoices_query
from webapp.billing.metrics import Metrics, metrics, monthly_revenue
from webapp.billing.models import Invoice, Payment, Subscription, SubscriptionStatusChange
from webapp.billing.payments import invoice_status, overdue_amount_cents
from webapp.billing.plans import plan_name
from webapp.billing.rules import BACK_OFFICE_PER_PAGE, OWN_INVOICES_PER_PAGE
from webapp.billing.scope import is_operator, visible_invoice
from webapp.billing.subscriptions import subscription_of_practitioner
from webapp.paging import paginate


def template_context(page) -> dict:
    """A page object's fields as template variables (not copied, unlike `dataclasses.asdict`)."""
    return {field.name: getattr(page, field.name) for field in dataclasses.fields(page)}


# -- the practitioner ------------------------------------------------------------

@dataclass(frozen=True)
class SubscriptionPage:
    subscription: Subscription
    invoices: dict  # one page of their invoices (`paginate`)
    next_invoice: dict | None
    plan_name: str
    online_payment: bool
    is_bookable: bool
    overdue_cents: int


def subscription_page(user: User, *, page: int) -> SubscriptionPage | None:
    """The practitioner's own subscription, one page of their invoices, the
    next invoice, whether patients can book them online and what is overdue;
    None when no subscription covers them on their own."""
    subscription = subscription_of_practitioner(user.practitioner_profile.id)
    if subscription is None:
        return None
    return SubscriptionPage(
        subscription=subscription,
        invoices=paginate(own_invoices_query(user), page=page, per_page=OWN_INVOICES_PER_PAGE),
        next_invoice=next_invoice_estimate(subscription), plan_name=plan_name(subscription.plan),
        online_payment=current_app.config["CARNET_BILLING_PROVIDER"] == "stripe",
        is_bookable=is_bookable(user.practitioner_profile.id), overdue_cents=overdue_amount_cents(subscription),
    )


# -- the back office -------------------------------------------------------------

@dataclass(frozen=True)
class DashboardPage:
    metrics: Metrics
    revenue: list[tuple[dt.date, int]]  # net HT per month, oldest first


def dashboard_page(actor: User) -> DashboardPage:
    """The figures and the revenue history within the actor's scope."""
    return DashboardPage(metrics=metrics(actor), revenue=monthly_revenue(actor))


@dataclass(frozen=True)
class FailedPaymentsPage:
    page: dict  # one page of past-due and suspended subscriptions (`paginate`)
    overdue: dict[int, int]  # overdue cents by subscription id


def failed_payments_page(actor: User, *, page: int) -> FailedPaymentsPage:
    """Past-due and suspended subscriptions in the actor's scope, with what each owes."""
    rows = paginate(backoffice.failed_payments_query(actor), page=page, per_page=BACK_OFFICE_PER_PAGE)
    return FailedPaymentsPage(page=rows, overdue={s.id: overdue_amount_cents(s) for s in rows["items"]})


@dataclass(frozen=True)
class InvoicePage:
    invoice: Invoice
    status: str
    is_operator: bool


def invoice_page(invoice_id: int, actor: User) -> InvoicePage:
    """One invoice in the actor's scope ("not found" otherwise), its status,
    and whether the actor may record its payment or credit it."""
    invoice = visible_invoice(invoice_id, actor)
    return InvoicePage(invoice=invoice, status=invoice_status(invoice), is_operator=is_operator(actor))


@dataclass(frozen=True)
class SubscriptionFilePage:
    subscription: Subscription
    plan_name: str
    history: list[SubscriptionStatusChange]
    invoices: list[Invoice]
    payments: list[Payment]
    overdue_cents: int
    is_operator: bool


def subscription_file_page(subscription_id: int, actor: User) -> SubscriptionFilePage:
    """One subscription's file in the actor's scope: its status history, invoices, payments and what is overdue."""
    subscription = backoffice.back_office_subscription(subscription_id, actor)
    return SubscriptionFilePage(
        subscription=subscription, plan_name=plan_name(subscription.plan),
        history=backoffice.status_history(subscription), invoices=backoffice.subscription_invoices(subscription),
        payments=backoffice.subscription_payments(subscription), overdue_cents=overdue_amount_cents(subscription),
        is_operator=is_operator(actor),
    )
