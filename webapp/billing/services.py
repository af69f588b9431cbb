"""Billing rules: plans, the subscription lifecycle, invoices, payments, back office.

Booking asks only `bookable_condition` / `is_bookable`: a practitioner whose
subscription is suspended or cancelled is not bookable online (their data,
appointments and notebook access stay). Services flush but never commit;
the caller wraps them in `transaction()`.
"""

import calendar
import datetime as dt
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from webapp.accounts.models import Clinic, ClinicMember, ClinicRole, PractitionerProfile, Role, User
from webapp.accounts.services import clinic_ids_of
from webapp.billing.errors import (
    ClinicAlreadySubscribed,
    InvalidBillingData,
    InvoiceAlreadyCredited,
    InvoiceAlreadyPaid,
    InvoiceNotFound,
    ManagedByStripe,
    NoSubscription,
    NotAnInvoice,
    SubscriptionNotActive,
)
from webapp.billing.models import (
    NOT_BOOKABLE_STATUSES,
    REVENUE_STATUSES,
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    Payment,
    PaymentMethod,
    Plan,
    ProviderName,
    Subscription,
    SubscriptionStatus,
)
from webapp.billing.einvoice import build_invoice_xml, embed_facturx_xml
from webapp.billing.invoice_pdf import render_invoice_pdf
from webapp.billing.money import line_amounts
from webapp.billing.vat_exemption import exemption_of, exemption_of_new_invoice, plan_vat_rate_bp
from webapp.billing.signals import payment_failed, subscription_suspended
from webapp.db import now_utc
from webapp.errors import Forbidden
from webapp.extensions import db

PRACTITIONER_PLAN = "practitioner"
CLINIC_PLAN = "clinic"
PLAN_NAMES = {
    PRACTITIONER_PLAN: _l("Practitioner"),
    CLINIC_PLAN: _l("Clinic (per practitioner)"),
}
BACK_OFFICE_ROLES = (Role.STAFF, Role.ADMIN)


# -- bookability (asked by booking) ------------------------------------------

# The clinic colleague a subscription covers through their clinic; one alias
# for every query, so SQLAlchemy reuses the compiled form.
_clinic_member = aliased(PractitionerProfile, name="bookable_clinic_member")


def bookable_condition(practitioner_id_column) -> sa.ColumnElement[bool]:
    """A SQL condition, true for practitioners bookable online, to put in a
    search query's WHERE clause (one query for any number of practitioners).

    A practitioner is covered by their own subscription and by their clinic's.
    They are bookable when no subscription covers them (accounts created
    outside sign-up) or when at least one covering subscription is neither
    suspended nor cancelled.
    """
    in_good_standing = Subscription.status.not_in(NOT_BOOKABLE_STATUSES)

    def own(*conditions):
        return sa.exists().where(Subscription.practitioner_id == practitioner_id_column, *conditions)

    def clinics(*conditions):
        # Flat EXISTS subqueries, so the column correlates with the caller's query.
        return sa.exists(
            sa.select(Subscription.id).join(_clinic_member, Subscription.clinic_id == _clinic_member.clinic_id)
            .where(_clinic_member.id == practitioner_id_column, *conditions)
        )

    return sa.or_(
        sa.and_(~own(), ~clinics()),
        own(in_good_standing),
        clinics(in_good_standing),
    )


@functools.cache
def _is_bookable_statement() -> sa.Select:
    # Built once: constructing the two correlated EXISTS costs more than running them.
    return sa.select(bookable_condition(sa.bindparam("practitioner_id", type_=sa.Integer)))


def is_bookable(practitioner_id: int) -> bool:
    return bool(db.session.scalar(_is_bookable_statement(), {"practitioner_id": practitioner_id}))


# -- plans ---------------------------------------------------------------------

def plan_name(plan: Plan) -> str:
    return str(PLAN_NAMES.get(plan.code, plan.code))


def sync_plans() -> dict[str, Plan]:
    """Create or update the plans from the configuration; returns them by code.

    A price change applies to invoices issued from then on; issued invoices
    keep their own amounts.
    """
    config = current_app.config
    vat_rate_bp = plan_vat_rate_bp(config)
    wanted = {
        PRACTITIONER_PLAN: dict(price_cents=config["CARNET_PLAN_PRACTITIONER_CENTS"], per_practitioner=False,
                                stripe_price_id=config["STRIPE_PRICE_ID"] or None),
        CLINIC_PLAN: dict(price_cents=config["CARNET_PLAN_CLINIC_CENTS"], per_practitioner=True,
                          stripe_price_id=config["STRIPE_CLINIC_PRICE_ID"] or None),
    }
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    db.session.execute(
        insert(Plan).values([dict(code=code, vat_rate_bp=vat_rate_bp, currency="EUR", interval="month", **values)
                             for code, values in wanted.items()]).on_conflict_do_nothing(index_elements=["code"])
    )
    plans = {plan.code: plan for plan in db.session.scalars(sa.select(Plan).where(Plan.code.in_(wanted)))}
    for code, values in wanted.items():
        plan = plans[code]
        for name, value in (values | {"vat_rate_bp": vat_rate_bp}).items():
            if getattr(plan, name) != value:
                setattr(plan, name, value)
    db.session.flush()
    return plans


def list_plans() -> list[Plan]:
    return sorted(sync_plans().values(), key=lambda plan: plan.code != PRACTITIONER_PLAN)


# -- periods -------------------------------------------------------------------

def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day `months` later, clamped to the end of shorter months."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def billing_timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


# -- subscriptions -------------------------------------------------------------

def start_trial(practitioner: PractitionerProfile, *, now: dt.datetime | None = None) -> Subscription:
    """A new practitioner gets the practitioner plan on a free trial
    (`CARNET_TRIAL_DAYS`), with the configured provider; once only."""
    existing = subscription_of_practitioner(practitioner.id)
    if existing is not None:
        return existing
    now = now or now_utc()
    trial_end = now + dt.timedelta(days=current_app.config["CARNET_TRIAL_DAYS"])
    subscription = Subscription(
        practitioner=practitioner, plan=sync_plans()[PRACTITIONER_PLAN],
        provider=ProviderName(current_app.config["CARNET_BILLING_PROVIDER"]),
        status=SubscriptionStatus.TRIALING, trial_ends_at=trial_end,
        current_period_start=now, current_period_end=trial_end, created_at=now,
    )
    db.session.add(subscription)
    db.session.flush()
    return subscription


def start_trial_for_new_practitioner(sender, *, practitioner: PractitionerProfile, **extra) -> None:
    """Receiver of `accounts.services.practitioner_registered`."""
    start_trial(practitioner)


def subscription_of_practitioner(practitioner_id: int) -> Subscription | None:
    return db.session.scalar(sa.select(Subscription).where(Subscription.practitioner_id == practitioner_id))


def own_subscription(user: User) -> Subscription:
    """The practitioner's own subscription (404 for anyone else or none)."""
    profile = user.practitioner_profile if user.role is Role.PRACTITIONER else None
    subscription = subscription_of_practitioner(profile.id) if profile is not None else None
    if subscription is None:
        raise NoSubscription()
    return subscription


def subscribe_clinic(clinic_id: int, *, actor: User, now: dt.datetime | None = None) -> Subscription:
    """The operator moves a clinic to the clinic plan, billed per practitioner
    from today. Its practitioners' own subscriptions end: the clinic pays."""
    require_operator(actor)
    clinic = db.session.get(Clinic, clinic_id)
    if clinic is None:
        raise InvalidBillingData(fields={"clinic_id": [str(_l("Unknown clinic."))]})
    if db.session.scalar(sa.select(Subscription.id).where(Subscription.clinic_id == clinic_id)):
        raise ClinicAlreadySubscribed()
    now = now or now_utc()
    subscription = Subscription(
        clinic=clinic, plan=sync_plans()[CLINIC_PLAN], provider=ProviderName.MANUAL,
        status=SubscriptionStatus.ACTIVE, current_period_start=now, current_period_end=now,
    )
    db.session.add(subscription)
    members = db.session.scalars(
        sa.select(Subscription).join(PractitionerProfile, Subscription.practitioner_id == PractitionerProfile.id)
        .where(PractitionerProfile.clinic_id == clinic_id, Subscription.status != SubscriptionStatus.CANCELLED)
    )
    for own in members:
        own.status, own.cancelled_at = SubscriptionStatus.CANCELLED, now
    db.session.flush()
    invoice_due_periods(subscription, now=now)
    return subscription


def subscription_quantity(subscription: Subscription) -> int:
    """How many units a period costs: 1, or the clinic's practitioners."""
    if subscription.clinic_id is None:
        return 1
    return db.session.scalar(
        sa.select(sa.func.count(PractitionerProfile.id)).where(PractitionerProfile.clinic_id == subscription.clinic_id)
    ) or 0


def request_cancellation(user: User) -> Subscription:
    """The practitioner stops at the end of the period already paid for."""
    subscription = own_subscription(user)
    if subscription.stripe_subscription_id:
        raise ManagedByStripe()
    if subscription.status is SubscriptionStatus.CANCELLED:
        raise SubscriptionNotActive()
    subscription.cancel_at_period_end = True
    db.session.flush()
    return subscription


def undo_cancellation(user: User) -> Subscription:
    """Keep a subscription whose cancellation was requested but not reached."""
    subscription = own_subscription(user)
    if subscription.stripe_subscription_id:
        raise ManagedByStripe()
    if subscription.status is SubscriptionStatus.CANCELLED or not subscription.cancel_at_period_end:
        raise SubscriptionNotActive()
    subscription.cancel_at_period_end = False
    db.session.flush()
    return subscription


def lock_subscription(subscription_id: int) -> Subscription:
    """The subscription, locked for this transaction (PostgreSQL), so two
    runs of a job or a job and a webhook never act on it at once."""
    subscription = db.session.scalar(
        sa.select(Subscription).where(Subscription.id == subscription_id).with_for_update(of=Subscription)
        .execution_options(populate_existing=True)
    )
    if subscription is None:
        raise NoSubscription()
    return subscription


def record_payment_failure(subscription: Subscription, *, since: dt.datetime) -> None:
    """A payment failed: past due from `since`, suspended after the grace
    period. A subscription already past due or suspended keeps its dates."""
    if subscription.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED,
                               SubscriptionStatus.CANCELLED):
        return
    subscription.status = SubscriptionStatus.PAST_DUE
    subscription.past_due_since = since
    db.session.flush()
    payment_failed.send(current_app._get_current_object(), subscription=subscription)


def mark_in_good_standing(subscription: Subscription) -> None:
    """Paid up: active again, bookable again."""
    if subscription.status is SubscriptionStatus.CANCELLED:
        return
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.past_due_since = None
    subscription.suspended_at = None
    db.session.flush()


def suspend_if_grace_is_over(subscription: Subscription, *, now: dt.datetime) -> bool:
    """Past due for longer than `CARNET_GRACE_DAYS`: suspended (not bookable)."""
    grace = dt.timedelta(days=current_app.config["CARNET_GRACE_DAYS"])
    if subscription.status is not SubscriptionStatus.PAST_DUE or subscription.past_due_since + grace > now:
        return False
    subscription.status = SubscriptionStatus.SUSPENDED
    subscription.suspended_at = now
    db.session.flush()
    subscription_suspended.send(current_app._get_current_object(), subscription=subscription)
    return True


# -- invoices ------------------------------------------------------------------

def next_invoice_number(issued_at: dt.datetime) -> tuple[int, int, str]:
    """(year, seq, "2026-000123"): the next number of the year, without gaps.

    The counter row is incremented by one UPDATE, which holds its row lock
    until the transaction ends: concurrent issuers wait, and a rolled-back
    invoice gives its number back.
    """
    year = issued_at.astimezone(billing_timezone()).year
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    db.session.execute(insert(InvoiceCounter).values(year=year, last_seq=0).on_conflict_do_nothing())
    seq = db.session.scalar(
        sa.update(InvoiceCounter).where(InvoiceCounter.year == year)
        .values(last_seq=InvoiceCounter.last_seq + 1).returning(InvoiceCounter.last_seq)
    )
    return year, seq, f"{year}-{seq:06d}"


def _seller() -> dict:
    config = current_app.config
    return dict(seller_name=config["CARNET_SELLER_NAME"], seller_address=config["CARNET_SELLER_ADDRESS"],
                seller_siret=config["CARNET_SELLER_SIRET"], seller_vat_number=config["CARNET_SELLER_VAT_NUMBER"])


def _buyer(subscription: Subscription) -> dict:
    """The buyer as printed: the company and billing address the subscription
    gives (`buyer_details`), else the practitioner or clinic and its address;
    the company ids the subscription gives (a clinic's own SIRET otherwise)."""
    buyer = subscription.practitioner if subscription.practitioner is not None else subscription.clinic
    if subscription.billing_street:
        street, postcode, city = subscription.billing_street, subscription.billing_postcode, subscription.billing_city
    else:
        street, postcode, city = buyer.address, buyer.postcode, buyer.city
    fields = dict(buyer_street=street, buyer_postcode=postcode, buyer_city=city,
                  buyer_country="FR", buyer_address=f"{street}, {postcode} {city}",
                  buyer_vat_number=subscription.billing_vat_number)
    if subscription.practitioner is not None:
        return fields | dict(buyer_name=subscription.billing_name or buyer.full_name,
                             buyer_identifier=f"RPPS {buyer.rpps}", buyer_siret=subscription.billing_siret)
    siret = subscription.billing_siret or buyer.siret
    return fields | dict(buyer_name=subscription.billing_name or buyer.name,
                         buyer_identifier=f"SIRET {siret}" if siret else None, buyer_siret=siret)


def _new_invoice(subscription: Subscription, *, kind: InvoiceKind, lines: list[InvoiceLine],
                 issued_at: dt.datetime, due_at: dt.datetime, **fields) -> Invoice:
    year, seq, number = next_invoice_number(issued_at)
    credited = fields.get("credit_of")
    # A credit note states the exemption of the invoice it mirrors; an invoice today's.
    exemption = dict(vat_exemption_code=credited.vat_exemption_code,
                     vat_exemption_reason=credited.vat_exemption_reason) if credited is not None \
        else exemption_of_new_invoice(current_app.config, lines)
    invoice = Invoice(
        number=number, year=year, seq=seq, kind=kind, subscription=subscription, issued_at=issued_at,
        due_at=due_at, currency=subscription.plan.currency, lines=lines,
        total_ht_cents=sum(line.total_ht_cents for line in lines),
        vat_cents=sum(line.vat_cents for line in lines),
        total_ttc_cents=sum(line.total_ttc_cents for line in lines),
        **_seller(), **_buyer(subscription), **exemption, **fields,
    )
    db.session.add(invoice)
    db.session.flush()
    return invoice


def store_invoice_document(invoice: Invoice) -> bytes:
    """Render the invoice's PDF and store it, once: later downloads return
    these bytes whatever the configuration becomes (the guards refuse a
    second write). Issuing calls it in the issuing transaction; it is the one
    place where the document is made: a Factur-X PDF/A-3 with the invoice's
    EN 16931 XML embedded (`einvoice`).

    Two first downloads of an old invoice may render at once: the write only
    fills an empty document (`... WHERE document_pdf IS NULL`), so the later
    one writes nothing and both answer the one stored document. PostgreSQL
    makes the later UPDATE wait for the first transaction and re-check; SQLite
    runs one write transaction at a time."""
    if invoice.document_pdf is not None:
        return invoice.document_pdf
    config, tz = current_app.config, billing_timezone()
    xml = build_invoice_xml(invoice, tz=tz, iban=config["CARNET_SELLER_IBAN"], bic=config["CARNET_SELLER_BIC"],
                            exemption=exemption_of(invoice, config))
    document = embed_facturx_xml(render_invoice_pdf(invoice, tz=tz), xml, invoice=invoice)
    table = Invoice.__table__
    written = db.session.execute(
        sa.update(table).where(table.c.id == invoice.id, table.c.document_pdf.is_(None)).values(document_pdf=document)
    ).rowcount
    if not written:  # stored meanwhile by another transaction: that one is the document
        document = db.session.scalar(sa.select(table.c.document_pdf).where(table.c.id == invoice.id))
    set_committed_value(invoice, "document_pdf", document)
    return document


def invoice_document(invoice: Invoice) -> bytes:
    """The PDF as issued. Invoices issued before documents were stored get
    theirs rendered and stored at the first download (the caller commits)."""
    return store_invoice_document(invoice)


def issue_period_invoice(subscription: Subscription, *, period_start: dt.datetime, period_end: dt.datetime,
                         now: dt.datetime, external_id: str | None = None, with_document: bool = True) -> Invoice:
    """Invoice one period of a subscription at the plan's current price,
    due after `CARNET_PAYMENT_TERMS_DAYS`, and store its PDF (unless the
    caller adds a payment first: `with_document=False`). A period is invoiced once."""
    plan = subscription.plan
    quantity = subscription_quantity(subscription)
    amounts = line_amounts(plan.price_cents, quantity, plan.vat_rate_bp)
    tz = billing_timezone()
    # Invoices are legal documents in the operator's language, whoever triggers them.
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        description = gettext("Carnet subscription, %(plan)s plan, %(start)s to %(end)s", plan=plan_name(plan),
                              start=format_date(period_start.astimezone(tz).date(), "short"),
                              end=format_date((period_end.astimezone(tz) - dt.timedelta(days=1)).date(), "short"))
    line = InvoiceLine(description=description, quantity=quantity, unit_price_ht_cents=plan.price_cents,
                       vat_rate_bp=plan.vat_rate_bp, total_ht_cents=amounts.total_ht_cents,
                       vat_cents=amounts.vat_cents, total_ttc_cents=amounts.total_ttc_cents)
    terms = dt.timedelta(days=current_app.config["CARNET_PAYMENT_TERMS_DAYS"])
    invoice = _new_invoice(subscription, kind=InvoiceKind.INVOICE, lines=[line], issued_at=now, due_at=now + terms,
                           period_start=period_start, period_end=period_end, external_id=external_id)
    if with_document:
        store_invoice_document(invoice)
    return invoice


def invoice_due_periods(subscription: Subscription, *, now: dt.datetime) -> list[Invoice]:
    """Manual provider: at each period end, end a requested cancellation or
    invoice the next month (a trial's end starts the first paid month).
    Missed months are caught up, one invoice each."""
    issued = []
    while subscription.current_period_end <= now and subscription.status is not SubscriptionStatus.CANCELLED:
        start = subscription.current_period_end
        if subscription.cancel_at_period_end:
            subscription.status, subscription.cancelled_at = SubscriptionStatus.CANCELLED, start
            break
        end = add_months(start, 1)
        issued.append(issue_period_invoice(subscription, period_start=start, period_end=end, now=now))
        subscription.current_period_start, subscription.current_period_end = start, end
        if subscription.status is SubscriptionStatus.TRIALING:
            subscription.status = SubscriptionStatus.ACTIVE
    db.session.flush()
    return issued


def subscriptions_due_for_invoicing(now: dt.datetime) -> list[int]:
    return list(db.session.scalars(
        sa.select(Subscription.id).where(
            Subscription.provider == ProviderName.MANUAL,
            Subscription.status != SubscriptionStatus.CANCELLED,
            Subscription.current_period_end <= now,
        ).order_by(Subscription.id)
    ))


def invoice_subscription(subscription_id: int, *, now: dt.datetime) -> list[Invoice]:
    """One unit of work of the invoicing job."""
    subscription = lock_subscription(subscription_id)
    if subscription.provider is not ProviderName.MANUAL:
        return []
    return invoice_due_periods(subscription, now=now)


def _open_invoices_condition():
    """Invoices (not credit notes) neither paid nor cancelled by a credit note."""
    credit = aliased(Invoice)
    return sa.and_(
        Invoice.kind == InvoiceKind.INVOICE,
        ~sa.exists().where(Payment.invoice_id == Invoice.id),
        ~sa.exists().where(credit.credit_of_id == Invoice.id),
    )


def oldest_open_invoice(subscription: Subscription) -> Invoice | None:
    """The subscription's oldest invoice neither paid nor credited."""
    return db.session.scalar(
        sa.select(Invoice).where(Invoice.subscription_id == subscription.id, _open_invoices_condition())
        .order_by(Invoice.due_at, Invoice.id).limit(1)
    )


def subscriptions_to_check_for_grace(now: dt.datetime) -> list[int]:
    """Subscriptions the grace-period job must look at: past due ones, manual
    ones with an overdue invoice, Stripe trials that ended without a card."""
    overdue = sa.exists().where(Invoice.subscription_id == Subscription.id, _open_invoices_condition(),
                                Invoice.due_at <= now)
    trial_without_card = sa.and_(
        Subscription.provider == ProviderName.STRIPE, Subscription.stripe_subscription_id.is_(None),
        Subscription.status == SubscriptionStatus.TRIALING, Subscription.trial_ends_at <= now,
    )
    good_standing = Subscription.status.in_([SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE])
    return list(db.session.scalars(
        sa.select(Subscription.id).where(sa.or_(
            Subscription.status == SubscriptionStatus.PAST_DUE,
            sa.and_(good_standing, overdue),
            trial_without_card,
        )).order_by(Subscription.id)
    ))


def apply_grace_period_to(subscription_id: int, *, now: dt.datetime) -> None:
    """One unit of work of the grace-period job: an overdue invoice (or a
    Stripe trial ended without a card) makes the subscription past due;
    past due beyond the grace period suspends it."""
    subscription = lock_subscription(subscription_id)
    if subscription.status in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE):
        oldest_due = db.session.scalar(
            sa.select(sa.func.min(Invoice.due_at))
            .where(Invoice.subscription_id == subscription.id, _open_invoices_condition(), Invoice.due_at <= now)
        )
        if oldest_due is None and subscription.provider is ProviderName.STRIPE \
                and subscription.stripe_subscription_id is None and subscription.trial_ends_at \
                and subscription.trial_ends_at <= now:
            oldest_due = subscription.trial_ends_at
        if oldest_due is not None:
            record_payment_failure(subscription, since=oldest_due)
    suspend_if_grace_is_over(subscription, now=now)


def _reactivate_if_settled(subscription: Subscription, *, now: dt.datetime) -> None:
    """A past-due or suspended subscription with nothing overdue left is active again."""
    if subscription.status not in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED):
        return
    if subscription.provider is ProviderName.STRIPE:
        return  # Stripe says when it is paid (invoice.paid)
    overdue = db.session.scalar(
        sa.select(sa.func.count(Invoice.id))
        .where(Invoice.subscription_id == subscription.id, _open_invoices_condition(), Invoice.due_at <= now)
    )
    if not overdue:
        mark_in_good_standing(subscription)


def invoice_status(invoice: Invoice) -> str:
    """open, paid or credited for an invoice; issued for a credit note."""
    if invoice.kind is InvoiceKind.CREDIT_NOTE:
        return "issued"
    if invoice.payments:
        return "paid"
    if invoice.credit_note is not None:
        return "credited"
    return "open"


def _operator_invoice(invoice_id: int, actor: User) -> Invoice:
    """An invoice (not a credit note) the operator acts on, its subscription
    locked first: two people acting on it at once are served one after the
    other, and the second sees what the first did."""
    invoice = visible_invoice(invoice_id, actor)
    require_operator(actor)
    lock_subscription(invoice.subscription_id)
    db.session.expire(invoice, ["payments", "credit_note"])
    if invoice.kind is not InvoiceKind.INVOICE:
        raise NotAnInvoice()
    if invoice.credit_note is not None:
        raise InvoiceAlreadyCredited()
    return invoice


def check_payment(*, method: PaymentMethod, paid_on: dt.date, reference: str, now: dt.datetime) -> None:
    """A payment the operator may record: a bank transfer or cheque, received
    by today, with its reference (pages check it before asking to confirm)."""
    if method not in (PaymentMethod.BANK_TRANSFER, PaymentMethod.CHEQUE):
        raise InvalidBillingData(fields={"method": [str(_l("Record a bank transfer or a cheque."))]})
    if paid_on > now.astimezone(billing_timezone()).date():
        raise InvalidBillingData(fields={"paid_on": [str(_l("The payment date is in the future."))]})
    if not reference.strip():
        raise InvalidBillingData(fields={"reference": [str(_l("Give the transfer or cheque reference."))]})


def mark_invoice_paid(invoice_id: int, *, actor: User, method: PaymentMethod, paid_on: dt.date, reference: str,
                      now: dt.datetime | None = None) -> Payment:
    """The operator records a bank transfer or cheque for an open invoice
    (once); a past-due or suspended subscription with nothing else overdue
    becomes active again."""
    now = now or now_utc()
    check_payment(method=method, paid_on=paid_on, reference=reference, now=now)
    invoice = _operator_invoice(invoice_id, actor)
    if invoice.payments:
        raise InvoiceAlreadyPaid()
    payment = Payment(invoice=invoice, method=method, amount_cents=invoice.total_ttc_cents, paid_on=paid_on,
                      reference=reference.strip(), recorded_by_id=actor.id, recorded_at=now)
    db.session.add(payment)
    db.session.flush()
    _reactivate_if_settled(invoice.subscription, now=now)
    return payment


def issue_credit_note(invoice_id: int, *, actor: User, reason: str, now: dt.datetime | None = None) -> Invoice:
    """The operator cancels an unpaid invoice, or refunds a paid one, with a
    credit note: it references the invoice, mirrors every line with negative
    amounts and takes the next number. One credit note per invoice."""
    if not reason.strip():
        raise InvalidBillingData(fields={"reason": [str(_l("Give the reason for the credit note."))]})
    invoice = _operator_invoice(invoice_id, actor)
    now = now or now_utc()
    lines = [
        InvoiceLine(description=line.description, quantity=-line.quantity,
                    unit_price_ht_cents=line.unit_price_ht_cents, vat_rate_bp=line.vat_rate_bp,
                    total_ht_cents=-line.total_ht_cents, vat_cents=-line.vat_cents,
                    total_ttc_cents=-line.total_ttc_cents)
        for line in invoice.lines
    ]
    credit_note = _new_invoice(invoice.subscription, kind=InvoiceKind.CREDIT_NOTE, lines=lines, issued_at=now,
                               due_at=now, credit_of=invoice, reason=reason.strip())
    store_invoice_document(credit_note)
    db.session.expire(invoice, ["credit_note"])
    _reactivate_if_settled(invoice.subscription, now=now)
    return credit_note


# -- Stripe-driven changes -----------------------------------------------------

def subscription_for_stripe(*, stripe_subscription_id: str | None = None, customer_id: str | None = None,
                            subscription_id: int | None = None) -> Subscription | None:
    """Our subscription for a Stripe object, by the most precise id it carries."""
    for column, value in ((Subscription.stripe_subscription_id, stripe_subscription_id),
                          (Subscription.stripe_customer_id, customer_id), (Subscription.id, subscription_id)):
        if value:
            found = db.session.scalar(sa.select(Subscription.id).where(column == value))
            if found is not None:
                return lock_subscription(found)
    return None


def record_stripe_customer(subscription_id: int, customer_id: str) -> None:
    subscription = lock_subscription(subscription_id)
    if subscription.stripe_customer_id is None:
        subscription.stripe_customer_id = customer_id
        db.session.flush()


def link_stripe_subscription(subscription: Subscription, *, customer_id: str, stripe_subscription_id: str) -> None:
    """Checkout completed: the subscription is paid through Stripe from now on."""
    subscription.provider = ProviderName.STRIPE
    subscription.stripe_customer_id = customer_id
    subscription.stripe_subscription_id = stripe_subscription_id
    subscription.cancel_at_period_end = False
    if subscription.status is SubscriptionStatus.CANCELLED:
        subscription.status, subscription.cancelled_at = SubscriptionStatus.ACTIVE, None
    db.session.flush()


def record_stripe_payment(subscription: Subscription, *, stripe_invoice_id: str, period_start: dt.datetime,
                          period_end: dt.datetime, paid_at: dt.datetime, now: dt.datetime,
                          sets_standing: bool = True) -> Invoice | None:
    """Stripe collected a period: issue our numbered invoice (once per Stripe
    invoice and per period) and record the card payment; unless newer news
    already arrived (`sets_standing` false), the period is current and the
    subscription back in good standing."""
    invoice = None
    already = db.session.scalar(sa.select(Invoice.id).where(sa.or_(
        Invoice.external_id == stripe_invoice_id,
        sa.and_(Invoice.subscription_id == subscription.id, Invoice.period_start == period_start),
    )))
    if already is None:
        invoice = issue_period_invoice(subscription, period_start=period_start, period_end=period_end, now=now,
                                       external_id=stripe_invoice_id, with_document=False)
        db.session.add(Payment(invoice=invoice, method=PaymentMethod.CARD, amount_cents=invoice.total_ttc_cents,
                               paid_on=paid_at.astimezone(billing_timezone()).date(), reference=stripe_invoice_id,
                               recorded_at=now))
        # Paid by card when issued: the document says so.
        store_invoice_document(invoice)
    if sets_standing:
        subscription.current_period_start, subscription.current_period_end = period_start, period_end
        mark_in_good_standing(subscription)
    return invoice


def apply_stripe_subscription_state(subscription: Subscription, *, status: str, cancel_at_period_end: bool,
                                    period_end: dt.datetime | None, now: dt.datetime) -> None:
    """Mirror Stripe's view of the subscription. A suspension is ours to lift
    only when a payment arrives (invoice.paid), never from a status alone."""
    subscription.cancel_at_period_end = cancel_at_period_end
    if period_end is not None:
        subscription.current_period_end = period_end
    if status == "trialing" and subscription.status is SubscriptionStatus.TRIALING:
        pass
    elif status == "active" and subscription.status is SubscriptionStatus.TRIALING:
        subscription.status = SubscriptionStatus.ACTIVE
    elif status in ("past_due", "unpaid"):
        record_payment_failure(subscription, since=now)
    elif status == "canceled":
        cancel_now(subscription, now=now)
    db.session.flush()


def cancel_now(subscription: Subscription, *, now: dt.datetime) -> None:
    if subscription.status is not SubscriptionStatus.CANCELLED:
        subscription.status, subscription.cancelled_at = SubscriptionStatus.CANCELLED, now
        subscription.cancel_at_period_end = False
        db.session.flush()


# -- who sees what ---------------------------------------------------------------

# Within a clinic, billing is the accountant's part; a secretary runs the agendas
# (webapp.booking.services.AGENDA_CLINIC_ROLE) and sees no money.
BILLING_CLINIC_ROLE = ClinicRole.ACCOUNTANT


def _clinic_ids_of(user: User) -> list[int]:
    return list(db.session.scalars(sa.select(ClinicMember.clinic_id).where(ClinicMember.user_id == user.id)))


def back_office_scope(actor: User) -> sa.ColumnElement[bool]:
    """Subscriptions a back-office user may see: all for an administrator or
    the operator's staff (no clinic); a clinic's accountants see their clinic
    only; any other clinic member (a secretary) is refused."""
    if actor.role not in BACK_OFFICE_ROLES:
        raise Forbidden()
    if actor.role is Role.ADMIN or not _clinic_ids_of(actor):
        return sa.true()
    clinic_ids = clinic_ids_of(actor, BILLING_CLINIC_ROLE)
    if not clinic_ids:
        raise Forbidden(_l("Only the clinic's accountants see its billing."))
    clinic_practitioners = sa.select(PractitionerProfile.id).where(PractitionerProfile.clinic_id.in_(clinic_ids))
    return sa.or_(Subscription.clinic_id.in_(clinic_ids), Subscription.practitioner_id.in_(clinic_practitioners))


def sees_billing(user: User) -> bool:
    """Whether the user has a billing back office (menus, pages)."""
    try:
        back_office_scope(user)
    except Forbidden:
        return False
    return True


def is_operator(user: User) -> bool:
    return user.role is Role.ADMIN or (user.role is Role.STAFF and not _clinic_ids_of(user))


def require_operator(actor: User) -> None:
    """Money received and credit notes are the operator's acts, not a clinic's."""
    if not is_operator(actor):
        raise Forbidden(_l("Only the operator's back office records payments and credit notes."))


def visible_invoice(invoice_id: int, actor: User) -> Invoice:
    """An invoice the actor may read: their own (practitioner) or within
    their back-office scope. Anything else is "not found"."""
    statement = sa.select(Invoice).join(Subscription, Invoice.subscription_id == Subscription.id) \
        .where(Invoice.id == invoice_id)
    if actor.role is Role.PRACTITIONER and actor.practitioner_profile is not None:
        statement = statement.where(Subscription.practitioner_id == actor.practitioner_profile.id)
    elif actor.role in BACK_OFFICE_ROLES:
        statement = statement.where(back_office_scope(actor))
    else:
        raise InvoiceNotFound()
    invoice = db.session.scalar(statement)
    if invoice is None:
        raise InvoiceNotFound()
    return invoice


# What showing an invoice in a list needs, loaded in a few queries for any number of rows.
INVOICE_LIST_LOADING = (selectinload(Invoice.payments), selectinload(Invoice.lines),
                        selectinload(Invoice.credit_note), selectinload(Invoice.credit_of))


def own_invoices_query(user: User) -> sa.Select:
    subscription = own_subscription(user)
    return sa.select(Invoice).where(Invoice.subscription_id == subscription.id) \
        .options(*INVOICE_LIST_LOADING).order_by(Invoice.issued_at.desc(), Invoice.id.desc())


def next_invoice_estimate(subscription: Subscription) -> dict | None:
    """When and how much the next invoice will be (None once it ends)."""
    if subscription.status is SubscriptionStatus.CANCELLED or subscription.cancel_at_period_end:
        return None
    amounts = line_amounts(subscription.plan.price_cents, subscription_quantity(subscription),
                           subscription.plan.vat_rate_bp)
    return {"date": subscription.current_period_end, "amounts": amounts}


# -- back office -----------------------------------------------------------------

SUBSCRIPTION_LIST_LOADING = (selectinload(Subscription.plan), selectinload(Subscription.practitioner),
                             selectinload(Subscription.clinic))


INVOICE_STATUSES = ("open", "paid", "credited", "issued")


def invoices_query(actor: User, *, status: str | None = None, kind: InvoiceKind | None = None) -> sa.Select:
    statement = sa.select(Invoice).join(Subscription, Invoice.subscription_id == Subscription.id) \
        .where(back_office_scope(actor)).options(*INVOICE_LIST_LOADING) \
        .order_by(Invoice.year.desc(), Invoice.seq.desc())
    if kind is not None:
        statement = statement.where(Invoice.kind == kind)
    credit = aliased(Invoice)
    paid = sa.exists().where(Payment.invoice_id == Invoice.id)
    credited = sa.exists().where(credit.credit_of_id == Invoice.id)
    conditions = {
        "open": _open_invoices_condition(),
        "paid": sa.and_(Invoice.kind == InvoiceKind.INVOICE, paid),
        "credited": sa.and_(Invoice.kind == InvoiceKind.INVOICE, ~paid, credited),
        "issued": Invoice.kind == InvoiceKind.CREDIT_NOTE,
    }
    if status is not None:
        statement = statement.where(conditions[status])
    return statement


def failed_payments_query(actor: User) -> sa.Select:
    """Past-due and suspended subscriptions, the longest overdue first."""
    return sa.select(Subscription).where(
        back_office_scope(actor),
        Subscription.status.in_([SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED]),
    ).options(*SUBSCRIPTION_LIST_LOADING).order_by(Subscription.past_due_since, Subscription.id)


def overdue_amount_cents(subscription: Subscription, *, now: dt.datetime | None = None) -> int:
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Invoice.total_ttc_cents), 0))
        .where(Invoice.subscription_id == subscription.id, _open_invoices_condition(),
               Invoice.due_at <= (now or now_utc()))
    )


@dataclass(frozen=True)
class Metrics:
    mrr_cents: int
    active: int
    trialing: int
    past_due: int
    suspended: int
    cancelled: int


def metrics(actor: User) -> Metrics:
    """Counts by status and the monthly recurring revenue (HT cents) of the
    subscriptions that pay (active or past due), at today's plan prices."""
    scope = back_office_scope(actor)
    counts = dict(db.session.execute(
        sa.select(Subscription.status, sa.func.count(Subscription.id)).where(scope).group_by(Subscription.status)
    ).all())
    paying = db.session.scalars(sa.select(Subscription).where(scope, Subscription.status.in_(REVENUE_STATUSES)))
    mrr = sum(subscription.plan.price_cents * subscription_quantity(subscription) for subscription in paying)
    return Metrics(mrr_cents=mrr, **{status.value: counts.get(status, 0) for status in SubscriptionStatus})


def monthly_revenue(actor: User, *, now: dt.datetime | None = None, months: int = 12) -> list[tuple[dt.date, int]]:
    """Net amount invoiced HT per month (credit notes deducted), oldest first,
    over the last `months` months including the current one: MRR as billed."""
    tz = billing_timezone()
    today = (now or now_utc()).astimezone(tz).date()
    firsts = [add_months(dt.datetime(today.year, today.month, 1), -offset).date() for offset in range(months - 1, -1, -1)]
    start = dt.datetime.combine(firsts[0], dt.time(), tzinfo=tz)
    totals = {first: 0 for first in firsts}
    rows = db.session.execute(
        sa.select(Invoice.issued_at, Invoice.total_ht_cents).join(Subscription, Invoice.subscription_id == Subscription.id)
        .where(back_office_scope(actor), Invoice.issued_at >= start)
    )
    for issued_at, total_ht in rows:
        local = issued_at.astimezone(tz)
        month = dt.date(local.year, local.month, 1)
        if month in totals:
            totals[month] += total_ht
    return list(totals.items())
