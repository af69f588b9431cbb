"""Issuing invoices: gapless numbering, the seller and buyer as printed, the stored
document, the monthly invoices of the manual provider, the practitioner's own list.
"""

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date, gettext
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from webapp.accounts.models import User
from webapp.billing.models import (
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    ProviderName,
    Subscription,
    SubscriptionStatus,
)
from webapp.billing.money import line_amounts
from webapp.billing.periods import add_months, billing_timezone
from webapp.billing.plans import plan_name
from webapp.billing.subscriptions import lock_subscription, own_subscription, subscription_quantity
from webapp.billing.vat_exemption import exemption_of, exemption_of_new_invoice
from webapp.extensions import db

# -- numbering and the parties as printed ----------------------------------------

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


# -- issuing and the stored document ---------------------------------------------
# An issued invoice is a legal document: its amounts, parties and PDF are copied
# onto it and never recomputed from the subscription or the configuration.

def new_invoice(subscription: Subscription, *, kind: InvoiceKind, lines: list[InvoiceLine],
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
    # Imported on this rare path only: Factur-X, pypdf, lxml and reportlab weighed
    # about 12 MB in every web worker (tests/test_worker_memory.py).
    from webapp.billing.einvoice import build_invoice_xml, embed_facturx_xml
    from webapp.billing.invoice_pdf import render_invoice_pdf
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
    invoice = new_invoice(subscription, kind=InvoiceKind.INVOICE, lines=[line], issued_at=now, due_at=now + terms,
                           period_start=period_start, period_end=period_end, external_id=external_id)
    if with_document:
        store_invoice_document(invoice)
    return invoice


# -- the manual provider's monthly invoicing (the daily job) ---------------------

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


# -- the practitioner's invoices -------------------------------------------------

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
