"""Forms of the invitation pages (CSRF-protected by Flask-WTF)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length


class InviteForm(FlaskForm):
    email = EmailField(_l("Patient's email"), validators=[DataRequired(), Email(), Length(max=254)],
                       description=_l("Check it with the patient: the invitation link is sent there."))


class ClaimForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)],
                             description=_l("At least 10 characters, mixing letters with digits or symbols."))
    accept_terms = BooleanField(_l("I accept the terms of use of Carnet"))


class ConfirmForm(FlaskForm):
    """A button only: its CSRF token is the whole form."""
