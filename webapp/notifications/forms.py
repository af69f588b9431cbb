"""Forms of the notification pages (CSRF-protected by Flask-WTF)."""

from flask_wtf import FlaskForm
from wtforms import BooleanField

from webapp.notifications.models import OPTIONAL_CATEGORIES, Category, Channel


def field_name(category: Category, channel: Channel) -> str:
    return f"{category}_{channel}"


class PreferencesForm(FlaskForm):
    """One checkbox per category a patient may turn off, per channel."""


for _category in OPTIONAL_CATEGORIES:
    for _channel in Channel:
        setattr(PreferencesForm, field_name(_category, _channel), BooleanField(_channel.label))
