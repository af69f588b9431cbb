"""Forms of the privacy page (CSRF-protected by Flask-WTF)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired


class ExportForm(FlaskForm):
    """A button only: building the archive is a POST, so no link preview triggers it."""


class CloseAccountForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand that my account will be closed for good and that I will no longer be able to log in."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
