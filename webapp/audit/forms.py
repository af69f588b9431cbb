"""The filters of the audit page (a GET form: nothing to protect from CSRF)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional, Regexp


class EventFiltersForm(FlaskForm):
    class Meta:
        csrf = False

    action = StringField(_l("Action"), validators=[Optional(), Length(max=64), Regexp(
        r"^[a-z0-9_.]+$", message=_l("Lower-case letters, digits, dots and underscores only."))],
        description=_l("An action such as login.failure, or a family such as login."))
    actor_id = IntegerField(_l("Actor (user id)"), validators=[Optional(), NumberRange(min=1)])
    target_type = StringField(_l("Target type"), validators=[Optional(), Length(max=40), Regexp(
        r"^[a-z0-9_]+$", message=_l("Lower-case letters, digits and underscores only."))])
    target_id = StringField(_l("Target id"), validators=[Optional(), Length(max=64)])
    since = DateField(_l("From (UTC day)"), validators=[Optional()])
    until = DateField(_l("Until (UTC day, included)"), validators=[Optional()])
