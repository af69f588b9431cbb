"""Invoice and credit-note PDFs: every mandatory mention, real glyphs, no overlap, stored once at issue."""

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from reportlab.pdfgen.canvas import Canvas

from tests import factories
from tests.billing.factories import START, make_invoice, make_subscription
from tests.billing.pdf_reading import (
    embeds_fonts,
    flat,
    fonts_and_missing_glyphs,
    overlaps,
    pdf_column_text,
    pdf_drawn_characters,
    pdf_pages,
    pdf_text,
    pdf_text_left_of,
)
from webapp.accounts.models import Role
from webapp.billing import invoicing, payments, periods, stripe_sync
from webapp.billing.models import Invoice, InvoiceImmutable, InvoiceKind, InvoiceLine, SubscriptionStatus
from webapp.billing.money import line_amounts, vat_breakdown
from webapp.extensions import db
from webapp.transaction import transaction

LONG_DESCRIPTION = ("Abonnement Carnet, formule Praticien, agenda en ligne, rappels par SMS et par courriel, "
                    "carnet de santé partagé, du 10/01/2026 au 09/02/2026 inclus")


def issue_invoice_with_lines(lines, *, subscription=None) -> Invoice:
    """An invoice whose lines carry their own rates: (description, quantity, unit HT cents, VAT bp)."""
    subscription = subscription or make_subscription(status=SubscriptionStatus.ACTIVE)
    invoice_lines = []
    for description, quantity, unit, rate in lines:
        amounts = line_amounts(unit, quantity, rate)
        invoice_lines.append(InvoiceLine(description=description, quantity=quantity, unit_price_ht_cents=unit,
                                         vat_rate_bp=rate, total_ht_cents=amounts.total_ht_cents,
                                         vat_cents=amounts.vat_cents, total_ttc_cents=amounts.total_ttc_cents))
    with transaction():
        invoice = invoicing.new_invoice(
            subscription, kind=InvoiceKind.INVOICE, lines=invoice_lines, issued_at=START,
            due_at=START + dt.timedelta(days=30), period_start=START, period_end=periods.add_months(START, 1))
        invoicing.store_invoice_document(invoice)
    return invoice


def test_overlap_check_finds_text_drawn_over_text():
    # What the old layout did with an invoice date and a credit note's date: "24/12/20126".
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(100, 700, "24/12/2026")
    canvas.drawString(120, 700, "2026")
    canvas.drawString(100, 600, "a line")
    canvas.drawString(100, 596, "a line drawn into it")
    canvas.save()
    assert len(overlaps(buffer.getvalue())) >= 2


def test_invoice_pdf_holds_every_mandatory_mention(app, monkeypatch):
    monkeypatch.setitem(app.config, "CARNET_SELLER_LEGAL_FORM", "SAS au capital de 10 000 €")
    monkeypatch.setitem(app.config, "CARNET_SELLER_REGISTRATION", "RCS Paris 123 456 789")
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE, billing_siret="98765432100017",
                                     billing_vat_number="FR12987654321")
    invoice = make_invoice(subscription)
    practitioner = subscription.practitioner
    text = flat(pdf_text(invoice.document_pdf) + "\n" + pdf_column_text(invoice.document_pdf))
    for mention in (
        f"Facture {invoice.number}", "Émise le 10 janvier 2026", "À régler avant le 9 février 2026",
        # seller
        invoice.seller_name, "SAS au capital de 10 000 €", "10 rue de la Santé, 75013 Paris",
        f"SIREN {invoice.seller_siret[:9]}", f"SIRET {invoice.seller_siret}", "RCS Paris 123 456 789",
        f"N° de TVA intracommunautaire {invoice.seller_vat_number}",
        # buyer
        practitioner.full_name, practitioner.address, f"{practitioner.postcode} {practitioner.city}",
        "SIREN 987654321", "SIRET 98765432100017", "N° de TVA intracommunautaire FR12987654321",
        # service, period, quantity, prices, VAT per rate, totals
        "Période de service : du 9 février 2026 au 8 mars 2026", "Désignation", "Qté", "Prix unitaire HT",
        "Taux de TVA", "Base HT", "Montant de TVA", "20 %", "89,00 €", "17,80 €", "Total HT", "Total TVA",
        "Total TTC 106,80 €",
        # payment terms and the B2B mentions
        "Conditions de paiement : à 30 jours date de facture",
        "Pénalités de retard : trois fois le taux d'intérêt légal",
        "Indemnité forfaitaire pour frais de recouvrement", "40,00 €", "Pas d'escompte pour paiement anticipé.",
        app.config["CARNET_SELLER_IBAN"],
    ):
        assert flat(mention) in text, mention


def test_amounts_of_a_thousand_euros_and_more_print_real_characters_in_embedded_fonts():
    invoice = issue_invoice_with_lines([("Licence annuelle", 1, 123456, 2000)])
    text = pdf_drawn_characters(invoice.document_pdf)
    # reportlab draws the no-break space before € with the space glyph (the same glyph, by design).
    assert "1\u202f234,56 €" in text and "1\u202f481,47 €" in text
    assert "\u25a0" not in text and "\ufffd" not in text
    fonts, missing = fonts_and_missing_glyphs(invoice.document_pdf)
    assert fonts == {"DejaVuSans", "DejaVuSans-Bold"} and missing == set()
    assert embeds_fonts(invoice.document_pdf)


def test_long_descriptions_and_period_wrap_whole_without_overlap():
    invoice = issue_invoice_with_lines([(LONG_DESCRIPTION, 3, 8900, 2000)])
    assert flat(LONG_DESCRIPTION) in flat(pdf_text_left_of(invoice.document_pdf, "Qté"))
    assert overlaps(invoice.document_pdf) == []


def test_two_rates_are_broken_down_per_rate():
    invoice = issue_invoice_with_lines([("Abonnement", 1, 10000, 2000), ("Ouvrage", 2, 1000, 550)])
    assert [(rate.vat_rate_bp, rate.base_ht_cents, rate.vat_cents) for rate in vat_breakdown(invoice.lines)] \
        == [(550, 2000, 110), (2000, 10000, 2000)]
    assert invoice.vat_cents == 2110 and invoice.total_ttc_cents == 14110
    text = flat(pdf_text(invoice.document_pdf))
    assert "5,5 % 20,00 € 1,10 €" in text and "20 % 100,00 € 20,00 €" in text
    assert "Total TVA 21,10 €" in text and "Total TTC 141,10 €" in text
    assert overlaps(invoice.document_pdf) == []


def test_credit_note_pdf_has_its_mentions_and_no_overlap():
    invoice = make_invoice()
    admin = factories.make_staff(role=Role.ADMIN)
    with transaction():
        credit = payments.issue_credit_note(invoice.id, actor=admin, reason="Erreur de tarif " * 12,
                                            now=START + dt.timedelta(days=3))
    pages = pdf_pages(credit.document_pdf)
    text = flat("\n".join(pages))
    for mention in (f"Avoir {credit.number}", "Émise le 13 janvier 2026",
                    f"Avoir sur la facture n° {invoice.number} du 10 janvier 2026", flat("Erreur de tarif " * 12),
                    "-106,80 €", "Montant crédité : 106,80 €", f"SIRET {credit.seller_siret}", "Total TVA -17,80 €"):
        assert mention in text, mention
    assert overlaps(credit.document_pdf) == []
    assert overlaps(invoice.document_pdf) == []


def test_invoices_issued_by_the_job_and_by_stripe_store_their_document():
    subscription = make_subscription(now=START - dt.timedelta(days=30))
    [invoice] = invoicing.invoice_due_periods(subscription, now=START)
    db.session.commit()
    assert invoice.document_pdf.startswith(b"%PDF")
    stripe = make_subscription(status=SubscriptionStatus.ACTIVE)
    paid = stripe_sync.record_stripe_payment(stripe, stripe_invoice_id="in_test_1", period_start=START,
                                             period_end=periods.add_months(START, 1), paid_at=START, now=START)
    db.session.commit()
    assert "Payée le 10 janvier 2026 (in_test_1)" in flat(pdf_text(paid.document_pdf))


def test_download_returns_the_stored_bytes_after_a_configuration_change(app, client, monkeypatch, log_in):
    invoice = make_invoice()
    log_in(invoice.subscription.practitioner.user)
    first = client.get(f"/billing/invoices/{invoice.id}.pdf").data
    assert first == invoice.document_pdf
    monkeypatch.setitem(app.config, "CARNET_SELLER_IBAN", "FR76 9999 9999 9999 9999 9999 999")
    monkeypatch.setitem(app.config, "CARNET_LATE_PENALTY_RATE", "dix pour cent")
    assert client.get(f"/billing/invoices/{invoice.id}.pdf").data == first


def test_invoice_issued_without_document_gets_it_at_first_download_then_keeps_it(app, client, log_in, owner_engine):
    invoice = make_invoice()
    # As an invoice issued before documents were stored (the owner bypasses the guards on PostgreSQL).
    with owner_engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(sa.text("DROP TRIGGER billing_invoices_document_once"))
        connection.execute(sa.text("UPDATE billing_invoices SET document_pdf = NULL WHERE id = :id"),
                           {"id": invoice.id})
        if connection.dialect.name != "postgresql":
            connection.execute(sa.text(
                "CREATE TRIGGER billing_invoices_document_once BEFORE UPDATE OF document_pdf ON billing_invoices "
                "WHEN OLD.document_pdf IS NOT NULL BEGIN SELECT RAISE(ABORT, 'issued invoices are immutable'); END"))
    log_in(invoice.subscription.practitioner.user)
    first = client.get(f"/billing/invoices/{invoice.id}.pdf").data
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).document_pdf == first
    app.config["CARNET_SELLER_IBAN"], iban = "FR76 1111", app.config["CARNET_SELLER_IBAN"]
    try:
        assert client.get(f"/billing/invoices/{invoice.id}.pdf").data == first
    finally:
        app.config["CARNET_SELLER_IBAN"] = iban


def test_orm_refuses_a_second_document_and_deletes():
    invoice = make_invoice()
    invoice.document_pdf = b"%PDF-forged"
    with pytest.raises(InvoiceImmutable):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(Invoice, invoice.id))
    with pytest.raises(InvoiceImmutable):
        db.session.flush()
    db.session.rollback()


def test_database_refuses_rewriting_the_stored_document():
    invoice = make_invoice()
    with pytest.raises(sa.exc.DatabaseError):
        with transaction():
            db.session.execute(sa.text("UPDATE billing_invoices SET document_pdf = :pdf WHERE id = :id"),
                               {"pdf": b"%PDF-forged", "id": invoice.id})


@pytest.mark.postgres_only
@pytest.mark.parametrize("statement", [
    "DELETE FROM billing_invoices", "DELETE FROM billing_invoice_lines", "TRUNCATE billing_invoices CASCADE",
    "TRUNCATE billing_invoice_lines", "UPDATE billing_invoices SET buyer_name = 'X'",
    "UPDATE billing_invoice_lines SET description = 'X'",
])
def test_postgresql_refuses_changing_or_deleting_issued_invoices(statement, owner_engine):
    make_invoice()
    # Even the tables' owner is refused: the triggers hold whoever the client is.
    for engine in (db.engine, owner_engine):
        with pytest.raises(sa.exc.DatabaseError, match="immutable|permission denied"):
            with engine.begin() as connection:
                connection.execute(sa.text(statement))
    assert db.session.scalar(sa.select(sa.func.count(Invoice.id))) == 1
