"""Billing's limits live in `rules`: the forms, the API schemas and the columns agree."""

import marshmallow as ma
import pytest

from webapp.billing.forms import CreditNoteForm
from webapp.billing.models import Invoice, Payment
from webapp.billing.rules import CREDIT_NOTE_REASON_MAX_LENGTH, PAYMENT_REFERENCE_MAX_LENGTH
from webapp.billing.schemas import CreditNoteInputSchema, MarkPaidSchema


def test_columns_hold_the_longest_accepted_text():
    assert Payment.__table__.c.reference.type.length == PAYMENT_REFERENCE_MAX_LENGTH
    assert Invoice.__table__.c.reason.type.length == CREDIT_NOTE_REASON_MAX_LENGTH


@pytest.mark.parametrize(("schema", "field", "limit", "extra"), [
    (MarkPaidSchema, "reference", PAYMENT_REFERENCE_MAX_LENGTH, {"method": "cheque", "paid_on": "2026-12-15"}),
    (CreditNoteInputSchema, "reason", CREDIT_NOTE_REASON_MAX_LENGTH, {}),
])
def test_api_accepts_the_limit_and_refuses_one_more(schema, field, limit, extra):
    assert schema().load({field: "x" * limit, **extra})[field] == "x" * limit
    with pytest.raises(ma.ValidationError) as refused:
        schema().load({field: "x" * (limit + 1), **extra})
    assert field in refused.value.messages


def test_pages_forms_refuse_one_more_than_the_limit(app):
    with app.test_request_context(method="POST", data={"reason": "x" * (CREDIT_NOTE_REASON_MAX_LENGTH + 1)}):
        form = CreditNoteForm(meta={"csrf": False})
        assert not form.validate() and form.reason.errors
