"""Forms of the invitation pages (CSRF-protected by Flask-WTF)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectMultipleField
from wtforms.validators import DataRequired, Email, Length
from wtforms.widgets import CheckboxInput, ListWidget


class InviteForm(FlaskForm):
    email = EmailField(_l("Patient's email"), validators=[DataRequired(), Email(), Length(max=254)],
                       description=_l("Check it with the patient: the invitation link is sent there."))


class ClaimForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)],
                             description=_l("At least 10 characters, mixing letters with digits or symbols."))
    accept_terms = BooleanField(_l("I accept the terms of use of Carnet"))
    # An adult claiming a profile someone acts for chooses who keeps acting (none unless ticked).
    keep_proxies = SelectMultipleField(_l("Who keeps acting for you"), coerce=int, choices=[],
                                       widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                       description=_l("Unticked accounts no longer book for you nor read your "
                                                      "notebook; they are told."))


class RelativeInviteForm(FlaskForm):
    email = EmailField(_l("Their email address"), validators=[DataRequired(), Email(), Length(max=254)],
                       description=_l("The invitation link is sent there: they create their account with it."))


class ConfirmForm(FlaskForm):
    """A button only: its CSRF token is the whole form."""
