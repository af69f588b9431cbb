"""The visitor's booking journey: suggestions while typing, holding a clicked
slot, and the confirmation step where a newcomer logs in or creates an
account and books in the same submission."""


from flask import flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.accounts import authentication, email_confirmation, registration, sessions
from webapp.accounts.forms import BookingSignupForm, LoginForm
from webapp.accounts.models import Role, User
from webapp.accounts.specialties import SPECIALTIES
from webapp.booking import bp, holds, settings
from webapp.booking.cancellation_window import deadline_before
from webapp.booking.errors import HoldNotFound
from webapp.booking.forms import EmptyForm
from webapp.booking.journey_forms import HoldConfirmForm
from webapp.booking.models import SlotHold
from webapp.booking.rules import BOOKING_RATE_LIMIT
from webapp.booking.search import suggestions
from webapp.booking.view_helpers import parse_start, patient_choices, text_arg
from webapp.db import now_utc
from webapp.errors import Forbidden
from webapp.extensions import limiter
from webapp.web import form_action

# The visitor's holder secret (webapp.booking.holds), in the signed session cookie.
HOLDER_KEY = "slot_holder"
HOLD_RATE_LIMIT = "30 per hour"
SUGGEST_RATE_LIMIT = "120 per minute"
# Offered in the search box's list before anything is typed (with every specialty's label).
COMMON_TERMS = ("généraliste", "dermato", "kiné", "dentiste", "ophtalmo", "psy", "gynéco", "pédiatre", "cardio",
                "ORL", "ostéo", "sage-femme")


@bp.app_template_global("search_box_terms")
def search_box_terms() -> list[str]:
    return list(dict.fromkeys([*COMMON_TERMS, *sorted(str(label) for label in SPECIALTIES.values())]))


def _holder_secret(*, create: bool = False) -> str | None:
    secret = session.get(HOLDER_KEY)
    if not isinstance(secret, str) and create:
        secret = session[HOLDER_KEY] = holds.new_holder_secret()
    return secret if isinstance(secret, str) else None


def _require_patient_or_visitor() -> None:
    """Professionals book at the desk, not through the patients' journey."""
    if current_user.is_authenticated and current_user.role is not Role.PATIENT:
        raise Forbidden()


@bp.route("/search/suggestions")
@limiter.limit(SUGGEST_RATE_LIMIT)
def search_suggestions():
    """What the search box may complete to (specialties, names, cities), as JSON
    for the small script that fills the box's list while typing."""
    return jsonify(items=suggestions(text_arg("q")))


@bp.route("/book/<int:practitioner_id>/hold", methods=["POST"])
@limiter.limit(HOLD_RATE_LIMIT)
def hold_slot(practitioner_id: int):
    """A slot clicked in the results or on the practitioner's page: keep it
    for this visitor while they confirm (log in or create an account)."""
    _require_patient_or_visitor()
    reason = request.form.get("reason", "")
    start = parse_start(request.form.get("start"))
    back = url_for("booking.practitioner_page", practitioner_id=practitioner_id, reason=reason or None)
    # At most 9 digits: a longer id cannot exist (32-bit columns) and would overflow the driver.
    if not EmptyForm().validate_on_submit() or start is None or not reason.isdigit() or len(reason) > 9:
        flash(_("Choose a slot first."), "error")
        return redirect(back)
    with form_action(passes=(404,)) as done:
        hold = holds.hold_slot(practitioner_id=practitioner_id, visit_reason_id=int(reason), start_at=start,
                               holder=_holder_secret(create=True))
    if not done.succeeded:
        return redirect(back)
    return redirect(url_for("booking.confirm_hold", hold_id=hold.id))


def _own_hold(hold_id: int) -> SlotHold | None:
    # Matched against the secret in this browser's session: another visitor's
    # hold id shows nothing, and neither does one from an expired session.
    try:
        return holds.hold_of(hold_id, _holder_secret() or "")
    except HoldNotFound as error:
        flash(error.message, "error")
        return None


def _render_confirmation(hold: SlotHold, *, confirm_form=None, login_form=None, signup_form=None, status=200):
    schedule = settings.schedule_of(hold.practitioner_id)
    now = now_utc()
    deadline = deadline_before(hold.start_at, schedule.cancellation_deadline_hours)
    if current_user.is_authenticated:
        confirm_form = confirm_form or HoldConfirmForm()
        confirm_form.patient_id.choices = patient_choices()
    else:
        login_form = login_form or LoginForm(prefix="login")
        signup_form = signup_form or BookingSignupForm(prefix="signup")
    return render_template(
        "booking/confirm.html", hold=hold, practitioner=hold.practitioner, reason=hold.visit_reason,
        timezone=schedule.timezone, expired=not hold.is_active_at(now), late=now >= deadline,
        deadline_hours=schedule.cancellation_deadline_hours, confirm_form=confirm_form, login_form=login_form,
        signup_form=signup_form,
    ), status


def _book(hold: SlotHold, user: User, secret: str, **details):
    """Turn the hold into the appointment, then show it (or say why not)."""
    practitioner_id, reason_id = hold.practitioner_id, hold.visit_reason_id
    with form_action() as done:
        appointment = holds.book_hold(hold.id, holder=secret, by=user, **details)
    if not done.succeeded:
        return redirect(url_for("booking.practitioner_page", practitioner_id=practitioner_id, reason=reason_id))
    flash(_("Your appointment is booked."), "success")
    return redirect(url_for("booking.my_appointment", appointment_id=appointment.id))


def _start_session_keeping_hold(user: User, opening: sessions.SessionOpening) -> str:
    """Log the user in on a fresh session that still holds the slot."""
    secret = _holder_secret(create=True)
    # Logging in clears the session (no fixation), the secret with it: put it back.
    sessions.start_session(user, opening)
    session[HOLDER_KEY] = secret
    return secret


@bp.route("/book/hold/<int:hold_id>", methods=["GET", "POST"])
@limiter.limit(BOOKING_RATE_LIMIT, methods=["POST"])
def confirm_hold(hold_id: int):
    """The confirmation step: the held slot, the no-cancellation warning, and
    either the booking form (a patient logged in) or log in / create an account."""
    _require_patient_or_visitor()
    hold = _own_hold(hold_id)
    if hold is None:
        return redirect(url_for("booking.search"))
    if request.method == "GET" or not current_user.is_authenticated:
        return _render_confirmation(hold)
    form = HoldConfirmForm()
    form.patient_id.choices = patient_choices()
    if not form.validate_on_submit():
        return _render_confirmation(hold, confirm_form=form, status=422)
    return _book(hold, current_user, _holder_secret(), patient_id=form.patient_id.data, message=form.message.data,
                 share_notebook_ahead=form.share_notebook_ahead.data)


def _visitor_hold(hold_id: int):
    """(The visitor's hold, None), or (None, where to go instead): the search
    when the hold is gone, the confirmation step once logged in."""
    _require_patient_or_visitor()
    hold = _own_hold(hold_id)
    if hold is None:
        return None, redirect(url_for("booking.search"))
    if current_user.is_authenticated:
        return None, redirect(url_for("booking.confirm_hold", hold_id=hold.id))
    return hold, None


@bp.route("/book/hold/<int:hold_id>/login", methods=["POST"])
@limiter.limit("10 per minute")
def confirm_hold_login(hold_id: int):
    """Log in (email and password) and book the held slot in one submission."""
    hold, elsewhere = _visitor_hold(hold_id)
    if elsewhere is not None:
        return elsewhere
    form = LoginForm(prefix="login")
    if form.validate_on_submit():
        with form_action(form) as done:
            user = _patient_login(form.email.data, form.password.data)
            opening = sessions.prepare_session(user)
        if done.succeeded:
            # The login is committed before booking: it stands even if the slot is gone meanwhile.
            return _book(hold, user, _start_session_keeping_hold(user, opening))
    return _render_confirmation(hold, login_form=form, status=422)


def _patient_login(email: str, password: str) -> User:
    """The patient these credentials log in (failures counted as on the login page)."""
    user = authentication.check_password_login(email, password)
    if user.role is not Role.PATIENT:
        raise Forbidden(_("Online booking is for patient accounts; professionals book from their agenda."))
    authentication.record_successful_login(user)
    return user


def _all_signup_problems(form: BookingSignupForm) -> bool:
    """Check the form and the account rules together, so that every problem
    is shown at once; True when there is none."""
    form.validate()
    problems = registration.patient_signup_problems(
        email=form.email.data, password=form.password.data, first_name=form.first_name.data or "",
        last_name=form.last_name.data or "", birth_date=form.birth_date.data, phone=form.phone.data or "")
    for name, messages in problems.items():
        field = getattr(form, name)
        if not field.errors:  # the form's own message already says it
            field.errors = list(field.errors) + messages
    return not (form.errors or form.form_errors)


@bp.route("/book/hold/<int:hold_id>/signup", methods=["POST"])
@limiter.limit("10 per hour")
def confirm_hold_signup(hold_id: int):
    """Create a patient account (only what booking needs) and book the held slot in the same
    submission; the email confirmation is sent as with any sign-up, booking does not wait for it."""
    hold, elsewhere = _visitor_hold(hold_id)
    if elsewhere is not None:
        return elsewhere
    form = BookingSignupForm(prefix="signup")
    if _all_signup_problems(form):
        with form_action(form) as done:
            user = registration.register_patient(
                email=form.email.data, password=form.password.data, first_name=form.first_name.data,
                last_name=form.last_name.data, birth_date=form.birth_date.data, phone=form.phone.data,
                locale=session.get("locale"))
            email_confirmation.send_email_confirmation(user)
            opening = sessions.prepare_session(user)
        if done.succeeded:
            # The account is committed before booking: it stands even if the slot is gone meanwhile.
            return _book(hold, user, _start_session_keeping_hold(user, opening))
    return _render_confirmation(hold, signup_form=form, status=422)
