"""Forms of the shared-record pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length

from webapp.dmp.models import IdentityStatus

STATUS_LABELS = {
    IdentityStatus.PROVISIONAL: _l("Provisional (not checked against an identity document)"),
    IdentityStatus.RECOVERED: _l("Recovered (returned by the INSi teleservice, identity document not checked)"),
    IdentityStatus.VALIDATED: _l("Validated (checked against an identity document)"),
    IdentityStatus.QUALIFIED: _l("Qualified (identity document checked and confirmed by the INSi teleservice)"),
}


class IdentityForm(FlaskForm):
    ins = StringField(_l("INS (social security number, 15 characters)"),
                      validators=[DataRequired(), Length(max=30)],
                      description=_l("As written on the carte Vitale or its certificate, e.g. 2 95 10 99 126 111 93."))
    status = SelectField(_l("Identity status"), choices=[], validators=[DataRequired()])

    def __init__(self, *args, can_qualify: bool, **kwargs):
        super().__init__(*args, **kwargs)
        statuses = ([IdentityStatus.PROVISIONAL, IdentityStatus.VALIDATED] if can_qualify
                    else [IdentityStatus.PROVISIONAL])
        self.status.choices = [(status.value, STATUS_LABELS[status]) for status in statuses]


class ConsentForm(FlaskForm):
    consent = HiddenField(validators=[AnyOf(["yes", "no"])])


class PushActionForm(FlaskForm):
    """Retry or cancel: the action is the URL, the form only carries the CSRF token."""
