"""Forms of the account pages (CSRF-protected by Flask-WTF)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from webapp.accounts.identity_rules import NAME_MAX_LENGTH, BirthDateValidator, PersonNameValidator
from webapp.accounts.models import VerificationMethod
from webapp.accounts.phones import PHONE_INPUT_MAX_LENGTH, PhoneValidator
from webapp.accounts.specialties import SPECIALTIES
from webapp.accounts.verification import NOTE_MAX, REASON_MAX
from webapp.notifications.models import OPTIONAL_CATEGORIES, Category, Channel


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def totp_code_field(label=_l("Code from your authenticator app")):
    return StringField(label, validators=[DataRequired(), Regexp(r"^\s*\d{6}\s*$", message=_l("Enter the 6 digits."))])


class TotpForm(FlaskForm):
    code = totp_code_field()


def person_name_field(label) -> StringField:
    """A first or last name, checked by the identity rules."""
    return StringField(label, validators=[DataRequired(), Length(max=NAME_MAX_LENGTH), PersonNameValidator()])


def birth_date_field(label=_l("Birth date")) -> DateField:
    """A birth date, checked by the identity rules."""
    return DateField(label, validators=[DataRequired(), BirthDateValidator()])


class _SignupForm(FlaskForm):
    first_name = person_name_field(_l("First name"))
    last_name = person_name_field(_l("Last name"))
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)],
                             description=_l("At least 10 characters, mixing letters with digits or symbols."))


class PatientSignupForm(_SignupForm):
    birth_date = birth_date_field()


class BookingSignupForm(PatientSignupForm):
    """Sign-up inside the booking confirmation: only what a booking needs,
    the phone number included (reminders go by text message)."""

    phone = StringField(_l("Mobile phone"),
                        validators=[DataRequired(), Length(max=PHONE_INPUT_MAX_LENGTH), PhoneValidator()],
                        description=_l("For the reminder text messages."))


class PractitionerSignupForm(_SignupForm):
    rpps = StringField(_l("RPPS number"), validators=[DataRequired(), Length(max=20)],
                       description=_l("The 11 digits of your RPPS identifier."))
    specialty = SelectField(_l("Specialty"), choices=[SelectChoice(code, label) for code, label in SPECIALTIES.items()])
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=200)])
    postcode = StringField(_l("Postcode"), validators=[DataRequired(), Regexp(r"^\d{5}$", message=_l("Five digits."))])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=100)])


class PasswordResetRequestForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)],
                             description=_l("At least 10 characters, mixing letters with digits or symbols."))
    confirm = PasswordField(_l("New password, again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two new passwords differ."))])


class ChangeEmailForm(FlaskForm):
    email = EmailField(_l("New email address"), validators=[DataRequired(), Email(), Length(max=254)])
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])


class ReauthForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    code = totp_code_field()


class TotpResetForm(FlaskForm):
    secret = HiddenField(validators=[DataRequired(), Length(max=64)])
    code = totp_code_field(_l("Code shown by your new authenticator app"))


class VerifyPractitionerForm(FlaskForm):
    """The back office verifies a practitioner (prefix `verify-<id>`: one form per practitioner on the list)."""

    method = RadioField(_l("Verified by"), default=VerificationMethod.DOCUMENT.value, choices=[
        SelectChoice(VerificationMethod.DOCUMENT.value, _l("Documents checked (professional card, registration)")),
        SelectChoice(VerificationMethod.DIRECTORY.value, _l("RPPS directory: number and names match")),
    ], validators=[DataRequired()])
    note = TextAreaField(_l("Note for the back office"), validators=[Length(max=NOTE_MAX)],
                         description=_l("What was checked; the practitioner does not see it."))


class RejectPractitionerForm(FlaskForm):
    """The back office rejects a practitioner (prefix `reject-<id>`)."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=REASON_MAX)],
                           description=_l("Sent to the practitioner by mail and shown on their account."))


class RelativeForm(FlaskForm):
    """Add a profile to act for (a child, a dependant)."""

    first_name = person_name_field(_l("First name"))
    last_name = person_name_field(_l("Last name"))
    birth_date = birth_date_field()


def phone_field(label=_l("Mobile phone"), description=_l("For SMS reminders. For example 06 12 34 56 78.")):
    """An optional phone number, stored in E.164 (`webapp.accounts.phones`)."""
    return TelField(label, validators=[PhoneValidator()], description=description,
                    render_kw={"maxlength": PHONE_INPUT_MAX_LENGTH})


class ProfileForm(FlaskForm):
    """A patient profile as its account (or, for a relative, its proxy) edits it.
    The view removes the identity fields when the identity is checked."""

    first_name = person_name_field(_l("First name"))
    last_name = person_name_field(_l("Last name"))
    birth_date = birth_date_field()
    phone = phone_field()


class PracticeContactForm(FlaskForm):
    """The practice's address and phone, as patients see them."""

    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=200)])
    postcode = StringField(_l("Postcode"), validators=[
        DataRequired(), Regexp(r"^\s*\d{5}\s*$", message=_l("Five digits."))])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=100)])
    phone = phone_field(_l("Practice phone"), _l("Shown to your patients, on your page and in their mails, to call "
                                                 "when it is too late to cancel online. For example 01 23 45 67 89."))


class ConfirmForm(FlaskForm):
    """A button only: its CSRF token is the whole form."""


def notification_field_name(category: Category, channel: Channel) -> str:
    return f"{category}_{channel}"


class NotificationSettingsForm(FlaskForm):
    """One checkbox per category a patient may turn off, per channel."""


for _category in OPTIONAL_CATEGORIES:
    for _channel in Channel:
        setattr(NotificationSettingsForm, notification_field_name(_category, _channel), BooleanField(_channel.label))
