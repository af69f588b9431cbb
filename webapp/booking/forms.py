"""Forms of the booking pages (CSRF-protected by Flask-WTF)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from webapp.accounts.forms import birth_date_field, person_name_field
from webapp.booking.models import VisitMode
from webapp.booking.rules import CELL_MINUTES, MAX_VISIT_MINUTES, SCHEDULE_LIMITS

WEEKDAY_LABELS = [_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
                  _l("Sunday")]


class BookForm(FlaskForm):
    visit_reason_id = HiddenField(validators=[DataRequired()])
    start = HiddenField(validators=[DataRequired()])
    patient_id = SelectField(_l("Who is the appointment for?"), coerce=int)
    message = TextAreaField(_l("Message to the practitioner (optional)"), validators=[Optional(), Length(max=1000)],
                            description=_l("Practical information only: "
                                           "your notebook is the place for health details."))
    share_notebook_ahead = BooleanField(
        _l("Let the practitioner read my notebook before the visit"), default=False,
        description=_l("Otherwise the practitioner can read it once the visit has begun."))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the cancellation"), validators=[Optional(), Length(max=500)])


class PractitionerCancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the cancellation (sent to the patient)"),
                           validators=[DataRequired(), Length(max=500)])


class RescheduleForm(FlaskForm):
    start = HiddenField(validators=[DataRequired()])


class EmptyForm(FlaskForm):
    """A button that posts: only the CSRF token."""


class AgendaMarkForm(FlaskForm):
    """A status button of the agenda; `return_to` brings the desk back to the agenda's day."""

    return_to = HiddenField()


class WaitlistForm(FlaskForm):
    visit_reason_id = HiddenField(validators=[DataRequired()])
    patient_id = SelectField(_l("For"), coerce=int)
    before = DateField(_l("I would like a slot before"), validators=[DataRequired()])


class VisitReasonForm(FlaskForm):
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=120)],
                        description=_l("As patients will see it, e.g. “First consultation”."))
    duration_minutes = IntegerField(
        _l("Duration (minutes)"), validators=[InputRequired(), NumberRange(min=CELL_MINUTES, max=MAX_VISIT_MINUTES)],
        description=_l("A multiple of %(minutes)d minutes.", minutes=CELL_MINUTES))
    price_euros = StringField(_l("Price (€)"), validators=[DataRequired(), Length(max=12)],
                              description=_l("For example 30 or 26,50."))
    new_patients = BooleanField(_l("New patients may book it"), default=True)
    returning_patients = BooleanField(_l("My existing patients may book it"), default=True)
    mode = RadioField(_l("Where"), default=VisitMode.IN_PERSON.value, choices=[
        SelectChoice(VisitMode.IN_PERSON.value, _l("In person")),
        SelectChoice(VisitMode.VIDEO.value, _l("Video consultation")),
    ])
    shown_in_messages = BooleanField(
        _l("Show this reason in the patients' e-mails, text messages and calendars"), default=False,
        description=_l("Unticked, they read “Appointment with” and your name: "
                       "leave it unticked for a reason that reveals health."))

    def price_cents(self) -> int | None:
        text = (self.price_euros.data or "").strip().replace(",", ".").replace("€", "").strip()
        try:
            value = round(float(text) * 100)
        except ValueError:
            return None
        return value if value >= 0 and text.replace(".", "", 1).isdigit() else None


class FeedNamesForm(FlaskForm):
    show_names = BooleanField(_l("Show patients' names in my calendar feed"),
                              description=_l("Unticked, the feed shows their initials only."))


def _within_limits(name: str) -> NumberRange:
    low, high = SCHEDULE_LIMITS[name]
    return NumberRange(min=low, max=high)


class RulesForm(FlaskForm):
    timezone = SelectField(_l("Timezone"))
    min_notice_minutes = IntegerField(_l("Minimum notice (minutes)"),
                                      validators=[InputRequired(), _within_limits("min_notice_minutes")],
                                      description=_l("How long before a slot patients can still book it online."))
    horizon_days = IntegerField(_l("Booking horizon (days)"),
                                validators=[InputRequired(), _within_limits("horizon_days")],
                                description=_l("How many days ahead patients can book."))
    buffer_minutes = IntegerField(_l("Buffer between visits (minutes)"),
                                  validators=[InputRequired(), _within_limits("buffer_minutes")])
    cancellation_deadline_hours = IntegerField(
        _l("Cancellation deadline (hours before the visit)"),
        validators=[InputRequired(), _within_limits("cancellation_deadline_hours")],
        description=_l("Patients cannot cancel or move an appointment online after this."))
    slot_step_minutes = IntegerField(_l("Grid step (minutes, optional)"),
                                     validators=[Optional(), NumberRange(min=CELL_MINUTES, max=MAX_VISIT_MINUTES)],
                                     description=_l("Empty: slots follow each visit reason's duration."))
    closed_on_public_holidays = BooleanField(_l("Closed on public holidays"), default=True)


class AbsenceForm(FlaskForm):
    start_date = DateField(_l("From (date)"), validators=[DataRequired()])
    start_time = TimeField(_l("From (time)"), validators=[Optional()], description=_l("Empty: the whole day."))
    end_date = DateField(_l("Until (date)"), validators=[DataRequired()])
    end_time = TimeField(_l("Until (time)"), validators=[Optional()], description=_l("Empty: the end of the day."))
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=200)],
                         description=_l("For example holidays or training; patients do not see it."))


class DeskPatientForm(FlaskForm):
    first_name = person_name_field(_l("First name"))
    last_name = person_name_field(_l("Last name"))
    birth_date = birth_date_field()
    email = EmailField(_l("Email"), validators=[Optional(), Email(), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)])


class DeskBookForm(FlaskForm):
    patient_id = HiddenField(validators=[DataRequired()])
    visit_reason_id = HiddenField(validators=[DataRequired()])
    start = HiddenField(validators=[DataRequired()])
    message = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=1000)])


class WalkInForm(FlaskForm):
    patient_id = HiddenField(validators=[DataRequired()])
    visit_reason_id = HiddenField(validators=[DataRequired()])
    message = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=1000)])


class AbsenceCancelForm(FlaskForm):
    """The confirmation of an absence over booked appointments: which to cancel, and what the patients are told."""

    message = TextAreaField(_l("Message to the patients whose appointment is cancelled"),
                            validators=[Optional(), Length(max=500)],
                            default=_l("Your practitioner will be absent at that time. "
                                       "Please book another appointment."))
