"""Two first downloads at once of an invoice issued before PDFs were stored: a real server, two
threads on two connections; both answer the one document stored, nobody gets a 500."""

import threading
import urllib.error
import urllib.request

import sqlalchemy as sa

from tests.billing.factories import START, make_subscription
from webapp.accounts.api_tokens import issue_api_token
from webapp.billing import invoice_pdf, invoicing, periods
from webapp.billing.models import Invoice, SubscriptionStatus
from webapp.extensions import db


def issue_without_document() -> Invoice:
    """An invoice issued without its document: no stored PDF."""
    subscription = make_subscription(status=SubscriptionStatus.ACTIVE)
    start = subscription.current_period_end
    invoice = invoicing.issue_period_invoice(subscription, period_start=start, period_end=periods.add_months(start, 1),
                                            now=START, with_document=False)
    db.session.commit()
    assert db.session.scalar(sa.select(Invoice.document_pdf).where(Invoice.id == invoice.id)) is None
    return invoice


def download(url: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_two_simultaneous_first_downloads_store_one_document_and_answer_it_twice(live_server, monkeypatch):
    invoice = issue_without_document()
    tokens = [issue_api_token(invoice.subscription.practitioner.user)[0] for _ in range(2)]
    db.session.commit()
    # Both requests have found no document and rendered one before either writes: the race itself.
    both_rendered = threading.Barrier(2, timeout=20)
    render = invoice_pdf.render_invoice_pdf
    renders = []

    def render_then_wait(*args, **kwargs):
        pdf = render(*args, **kwargs)
        renders.append(pdf)
        both_rendered.wait()
        return pdf

    monkeypatch.setattr(invoice_pdf, "render_invoice_pdf", render_then_wait)  # read at each rendering
    url = f"{live_server}/api/v1/billing/invoices/{invoice.id}/pdf"
    answers: list[tuple[int, bytes]] = []
    threads = [threading.Thread(target=lambda token=token: answers.append(download(url, token))) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(renders) == 2
    assert [status for status, _ in answers] == [200, 200], answers
    (_, first), (_, second) = answers
    db.session.expire_all()
    stored = db.session.scalar(sa.select(Invoice.document_pdf).where(Invoice.id == invoice.id))
    assert first == second == stored and stored.startswith(b"%PDF")
    # Later downloads answer the same bytes without rendering again.
    assert download(url, tokens[0]) == (200, stored) and len(renders) == 2
