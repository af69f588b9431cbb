"""Forms of the billing pages (CSRF-protected by Flask-WTF)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from webapp.billing.buyer_details import FIELDS, billing_details
from webapp.billing.models import PaymentMethod
from webapp.billing.rules import (
    BUYER_DETAILS_MAX_LENGTHS,
    CREDIT_NOTE_REASON_MAX_LENGTH,
    PAYMENT_REFERENCE_MAX_LENGTH,
)

PAYMENT_METHOD_LABELS = {
    PaymentMethod.BANK_TRANSFER.value: _l("Bank transfer"),
    PaymentMethod.CHEQUE.value: _l("Cheque"),
}


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class MarkPaidForm(FlaskForm):
    method = SelectField(_l("Payment method"),
                         choices=[SelectChoice(value, label) for value, label in PAYMENT_METHOD_LABELS.items()])
    paid_on = DateField(_l("Received on"), validators=[DataRequired()])
    reference = StringField(_l("Reference"), validators=[DataRequired(), Length(max=PAYMENT_REFERENCE_MAX_LENGTH)],
                            description=_l("The transfer reference or the cheque number."))


class CreditNoteForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=CREDIT_NOTE_REASON_MAX_LENGTH)])


def _optional_detail(name: str) -> list:
    return [Optional(), Length(max=BUYER_DETAILS_MAX_LENGTHS[name])]


class BillingDetailsForm(FlaskForm):
    """The company identity on the invoices (checked by `buyer_details`)."""
    name = StringField(_l("Company name"), validators=_optional_detail("name"),
                       description=_l("If you invoice as a company (SELARL, SCM...): its legal name."))
    siret = StringField(_l("SIREN or SIRET"), validators=_optional_detail("siret"),
                        description=_l("Printed on your invoices, with your VAT number, if you have them."))
    vat_number = StringField(_l("Intra-community VAT number"), validators=_optional_detail("vat_number"),
                             description=_l("For example FR40303265045."))
    street = StringField(_l("Billing address"), validators=_optional_detail("street"),
                         description=_l("Leave empty to use your practice's address."))
    postcode = StringField(_l("Postcode"), validators=_optional_detail("postcode"))
    city = StringField(_l("City"), validators=_optional_detail("city"))

    @classmethod
    def of(cls, subscription) -> "BillingDetailsForm":
        return cls(formdata=None, **billing_details(subscription))

    def details(self) -> dict:
        return {name: getattr(self, name).data for name in FIELDS}
