"""Forms of the Pro Santé Connect pages: linking an existing account,
completing a new one."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from webapp.accounts.specialties import SPECIALTIES


class LinkAccountForm(FlaskForm):
    password = PasswordField(_l("Password of this Carnet account"), validators=[DataRequired(), Length(max=200)])


class CompleteAccountForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    specialty = SelectField(_l("Specialty"), choices=[SelectChoice(code, label) for code, label in SPECIALTIES.items()])
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=200)])
    postcode = StringField(_l("Postcode"), validators=[DataRequired(), Regexp(r"^\d{5}$", message=_l("Five digits."))])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(
        _l("Password (optional)"), validators=[Optional(), Length(max=200)],
        description=_l("Leave it empty to log in only with Pro Santé Connect; \"Forgot your password?\" "
                       "sets one later. Else at least 10 characters, mixing letters with digits or symbols."),
    )
