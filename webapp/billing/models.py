"""Plans, subscriptions, invoices (with their lines and payments), Stripe events."""

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from webapp.accounts.models import Clinic, PractitionerProfile
from webapp.billing.rules import CREDIT_NOTE_REASON_MAX_LENGTH, CURRENCY, PAYMENT_REFERENCE_MAX_LENGTH, PLAN_INTERVAL
from webapp.db import enum_type, now_utc
from webapp.extensions import db


class SubscriptionStatus(enum.StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


# Statuses in which a subscription stops online booking.
NOT_BOOKABLE_STATUSES = (SubscriptionStatus.SUSPENDED, SubscriptionStatus.CANCELLED)
# Statuses that count towards the monthly recurring revenue.
REVENUE_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


class ProviderName(enum.StrEnum):
    MANUAL = "manual"
    STRIPE = "stripe"


class InvoiceKind(enum.StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class PaymentMethod(enum.StrEnum):
    BANK_TRANSFER = "bank_transfer"
    CHEQUE = "cheque"
    CARD = "card"


class Plan(db.Model):
    """A price list entry, kept in step with the configuration (`sync_plans`)."""

    __tablename__ = "billing_plans"
    __table_args__ = (
        sa.CheckConstraint("price_cents >= 0", name="price_not_negative"),
        sa.CheckConstraint("vat_rate_bp >= 0 AND vat_rate_bp <= 10000", name="vat_rate_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(30), unique=True)
    price_cents: Mapped[int]
    # VAT rate in basis points: 2000 is 20 %.
    vat_rate_bp: Mapped[int]
    currency: Mapped[str] = mapped_column(sa.String(3), default=CURRENCY)
    interval: Mapped[str] = mapped_column(sa.String(10), default=PLAN_INTERVAL)
    per_practitioner: Mapped[bool] = mapped_column(default=False)
    stripe_price_id: Mapped[str | None] = mapped_column(sa.String(100))


class Subscription(db.Model):
    """What a practitioner, or a clinic for all its practitioners, pays for.

    A practitioner without a subscription row (created before billing, or by
    the operator) is treated as subscribed: only a suspended or cancelled
    subscription stops online booking.
    """

    __tablename__ = "billing_subscriptions"
    __table_args__ = (
        sa.CheckConstraint("(practitioner_id IS NULL) <> (clinic_id IS NULL)", name="one_subscriber"),
        sa.Index("ix_billing_subscriptions_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("practitioner_profiles.id"), unique=True)
    clinic_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clinics.id"), unique=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("billing_plans.id"))
    provider: Mapped[ProviderName] = mapped_column(enum_type(ProviderName))
    status: Mapped[SubscriptionStatus] = mapped_column(enum_type(SubscriptionStatus))
    trial_ends_at: Mapped[dt.datetime | None]
    current_period_start: Mapped[dt.datetime]
    current_period_end: Mapped[dt.datetime]
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    past_due_since: Mapped[dt.datetime | None]
    suspended_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    # When Stripe created the newest event applied to the state above: an older one arriving late changes nothing.
    stripe_state_at: Mapped[dt.datetime | None]
    # The buyer's company identity, printed on their invoices when given (B2B mentions).
    billing_siret: Mapped[str | None] = mapped_column(sa.String(14))
    billing_vat_number: Mapped[str | None] = mapped_column(sa.String(20))
    # The company the invoices are made out to, when not the practitioner or clinic as such.
    billing_name: Mapped[str | None] = mapped_column(sa.String(200))
    billing_street: Mapped[str | None] = mapped_column(sa.String(200))
    billing_postcode: Mapped[str | None] = mapped_column(sa.String(10))
    billing_city: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    plan: Mapped[Plan] = relationship()
    practitioner: Mapped[PractitionerProfile | None] = relationship()
    clinic: Mapped[Clinic | None] = relationship()
    # Written by every status change (below), never loaded whole: the back office reads it page by page.
    status_changes: WriteOnlyMapped["SubscriptionStatusChange"] = relationship(
        order_by="SubscriptionStatusChange.id", passive_deletes=True)

    @property
    def subscriber_name(self) -> str:
        return self.practitioner.full_name if self.practitioner is not None else self.clinic.name


class SubscriptionStatusChange(db.Model):
    """One step of a subscription's status history (the first row: its status at creation)."""

    __tablename__ = "billing_subscription_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("billing_subscriptions.id"), index=True)
    from_status: Mapped[SubscriptionStatus | None] = mapped_column(enum_type(SubscriptionStatus))
    to_status: Mapped[SubscriptionStatus] = mapped_column(enum_type(SubscriptionStatus))
    changed_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


@sa.event.listens_for(Subscription.status, "set")
def _record_status_change(target: Subscription, value, old_value, initiator) -> None:
    # Every path that changes a status (services, jobs, Stripe webhooks) sets this attribute.
    old = old_value if isinstance(old_value, SubscriptionStatus) else None
    if value is not None and value != old:
        target.status_changes.add(SubscriptionStatusChange(from_status=old, to_status=value))


class InvoiceCounter(db.Model):
    """The last number used per year: the row lock serialises numbering."""

    __tablename__ = "billing_invoice_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(default=0)


class Invoice(db.Model):
    """An issued invoice or credit note: never updated, never deleted.

    Amounts of a credit note are negative, so sums over invoices are net.
    Its payment state lives in `Payment` rows, not here.
    """

    __tablename__ = "billing_invoices"
    __table_args__ = (
        sa.UniqueConstraint("year", "seq", name="uq_billing_invoices_year_seq"),
        # A period is invoiced once (credit notes have no period).
        sa.UniqueConstraint("subscription_id", "period_start", name="uq_billing_invoices_subscription_period"),
        sa.CheckConstraint("(kind = 'credit_note') = (credit_of_id IS NOT NULL)", name="credit_note_reference"),
        sa.CheckConstraint("total_ttc_cents = total_ht_cents + vat_cents", name="ttc_is_ht_plus_vat"),
        sa.Index("ix_billing_invoices_issued_at", "issued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    year: Mapped[int]
    seq: Mapped[int]
    kind: Mapped[InvoiceKind] = mapped_column(enum_type(InvoiceKind))
    subscription_id: Mapped[int] = mapped_column(sa.ForeignKey("billing_subscriptions.id"), index=True)
    credit_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("billing_invoices.id"), unique=True)
    issued_at: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime]
    period_start: Mapped[dt.datetime | None]
    period_end: Mapped[dt.datetime | None]
    currency: Mapped[str] = mapped_column(sa.String(3))
    total_ht_cents: Mapped[int]
    vat_cents: Mapped[int]
    total_ttc_cents: Mapped[int]
    seller_name: Mapped[str] = mapped_column(sa.String(200))
    seller_address: Mapped[str] = mapped_column(sa.String(300))
    seller_siret: Mapped[str] = mapped_column(sa.String(20))
    seller_vat_number: Mapped[str] = mapped_column(sa.String(20))
    buyer_name: Mapped[str] = mapped_column(sa.String(200))
    buyer_address: Mapped[str] = mapped_column(sa.String(300))
    buyer_identifier: Mapped[str | None] = mapped_column(sa.String(40))
    # The buyer's address in parts and company ids, as issued (invoices before 0035 have none).
    buyer_street: Mapped[str | None] = mapped_column(sa.String(200))
    buyer_postcode: Mapped[str | None] = mapped_column(sa.String(10))
    buyer_city: Mapped[str | None] = mapped_column(sa.String(100))
    buyer_country: Mapped[str | None] = mapped_column(sa.String(2))
    buyer_siret: Mapped[str | None] = mapped_column(sa.String(14))
    buyer_vat_number: Mapped[str | None] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.String(CREDIT_NOTE_REASON_MAX_LENGTH))
    # Why its 0 % lines carry no VAT, as issued: the printed mention and its VATEX code (Factur-X).
    vat_exemption_code: Mapped[str | None] = mapped_column(sa.String(30))
    vat_exemption_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # The provider's own id (a Stripe invoice): one Carnet invoice per provider invoice.
    external_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    # The PDF as issued, written once (NULL only for invoices issued before it was stored);
    # the old value is loaded before a write so the guard below can tell "once" from "again".
    document_pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True, active_history=True)

    subscription: Mapped[Subscription] = relationship()
    credit_of: Mapped["Invoice | None"] = relationship(remote_side=[id], foreign_keys=[credit_of_id])
    credit_note: Mapped["Invoice | None"] = relationship(foreign_keys=[credit_of_id], viewonly=True, uselist=False)
    lines: Mapped[list["InvoiceLine"]] = relationship(order_by="InvoiceLine.id", back_populates="invoice")
    payments: Mapped[list["Payment"]] = relationship(order_by="Payment.id", back_populates="invoice")


class InvoiceLine(db.Model):
    """One line of an invoice; its VAT is rounded on the line (half up)."""

    __tablename__ = "billing_invoice_lines"
    __table_args__ = (
        sa.CheckConstraint("total_ttc_cents = total_ht_cents + vat_cents", name="line_ttc_is_ht_plus_vat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("billing_invoices.id"), index=True)
    description: Mapped[str] = mapped_column(sa.String(300))
    quantity: Mapped[int]
    unit_price_ht_cents: Mapped[int]
    total_ht_cents: Mapped[int]
    vat_rate_bp: Mapped[int]
    vat_cents: Mapped[int]
    total_ttc_cents: Mapped[int]

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class Payment(db.Model):
    """Money received for an invoice; an invoice is paid once (unique)."""

    __tablename__ = "billing_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("billing_invoices.id"), unique=True)
    method: Mapped[PaymentMethod] = mapped_column(enum_type(PaymentMethod))
    amount_cents: Mapped[int]
    paid_on: Mapped[dt.date]
    reference: Mapped[str] = mapped_column(sa.String(PAYMENT_REFERENCE_MAX_LENGTH))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=now_utc)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")


class StripeEvent(db.Model):
    """A processed Stripe event id: the unique key makes a replay a no-op."""

    __tablename__ = "billing_stripe_events"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    received_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


class InvoiceImmutable(RuntimeError):
    """Raised when code tries to change or delete an issued invoice."""


@sa.event.listens_for(Invoice, "before_update")
@sa.event.listens_for(InvoiceLine, "before_update")
def _refuse_updates_to_issued_invoices(mapper, connection, target):
    # Adding a payment touches the invoice's collection, not the invoice.
    if not sa.orm.object_session(target).is_modified(target, include_collections=False):
        return
    if isinstance(target, Invoice) and _only_stores_the_first_document(target, connection):
        return
    raise InvoiceImmutable(f"{type(target).__name__} {target.id} is issued and cannot change")


def _only_stores_the_first_document(invoice: Invoice, connection) -> bool:
    state = sa.inspect(invoice)
    others = [attr.key for attr in state.mapper.column_attrs
              if attr.key != "document_pdf" and state.attrs[attr.key].history.has_changes()]
    if others or not state.attrs.document_pdf.history.has_changes():
        return False
    # The stored value, not the session's: a deferred column may never have been loaded.
    stored = connection.scalar(sa.select(Invoice.document_pdf.is_(None)).where(Invoice.id == invoice.id))
    return bool(stored)


@sa.event.listens_for(InvoiceLine, "before_insert")
def _refuse_lines_added_after_issue(mapper, connection, target):
    # Lines are written in the same flush as their invoice, never later.
    invoice = target.invoice
    if invoice is None or not sa.inspect(invoice).pending:
        raise InvoiceImmutable(f"invoice {target.invoice_id} is issued: no line can be added")


@sa.event.listens_for(Invoice, "before_delete")
@sa.event.listens_for(InvoiceLine, "before_delete")
def _refuse_deleting_issued_invoices(mapper, connection, target):
    raise InvoiceImmutable(f"{type(target).__name__} {target.id} is issued and cannot be deleted")
