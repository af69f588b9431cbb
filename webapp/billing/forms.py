"""Forms of the billing pages (CSRF-protected by Flask-WTF)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from webapp.billing.buyer_details import FIELDS, billing_details
from webapp.billing.models import PaymentMethod

PAYMENT_METHOD_LABELS = {
    PaymentMethod.BANK_TRANSFER.value: _l("Bank transfer"),
    PaymentMethod.CHEQUE.value: _l("Cheque"),
}


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class MarkPaidForm(FlaskForm):
    method = SelectField(_l("Payment method"), choices=[SelectChoice(value, label) for value, label in PAYMENT_METHOD_LABELS.items()])
    paid_on = DateField(_l("Received on"), validators=[DataRequired()])
    reference = StringField(_l("Reference"), validators=[DataRequired(), Length(max=100)],
                            description=_l("The transfer reference or the cheque number."))


class CreditNoteForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=300)])


class BillingDetailsForm(FlaskForm):
    """The company identity on the invoices (checked by `buyer_details`)."""
    name = StringField(_l("Company name"), validators=[Optional(), Length(max=200)],
                       description=_l("If you invoice as a company (SELARL, SCM...): its legal name."))
    siret = StringField(_l("SIREN or SIRET"), validators=[Optional(), Length(max=20)],
                        description=_l("Printed on your invoices, with your VAT number, if you have them."))
    vat_number = StringField(_l("Intra-community VAT number"), validators=[Optional(), Length(max=20)],
                             description=_l("For example FR40303265045."))
    street = StringField(_l("Billing address"), validators=[Optional(), Length(max=200)],
                         description=_l("Leave empty to use your practice's address."))
    postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=10)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])

    @classmethod
    def of(cls, subscription) -> "BillingDetailsForm":
        return cls(formdata=None, **billing_details(subscription))

    def details(self) -> dict:
        return {name: getattr(self, name).data for name in FIELDS}
