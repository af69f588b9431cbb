"""The practitioner's booking settings pages: visit reasons, booking rules, the calendar feed.
Opening hours and absences: webapp.booking.schedule_views."""

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from webapp.accounts.models import Role
from webapp.booking import agendas, bp, forms, ics
from webapp.booking import calendar_feed as booking_calendar_feed
from webapp.booking import settings as booking_settings
from webapp.booking.models import VisitMode
from webapp.booking.rules import SCHEDULE_DEFAULTS
from webapp.extensions import limiter
from webapp.navigation import register_nav
from webapp.web import form_action

register_nav("booking.settings", _l("Booking settings"), {Role.PRACTITIONER}, order=40)


@bp.route("/settings/booking")
@login_required
def settings():
    practitioner = agendas.own_practitioner(current_user)
    return render_template(
        "booking/settings.html", practitioner=practitioner, schedule=booking_settings.schedule_of(practitioner.id),
        reasons=booking_settings.visit_reasons_of(practitioner.id),
        hours=booking_settings.weekly_hours_of(practitioner.id),
        absences=booking_settings.upcoming_absences(practitioner.id), feed_form=forms.EmptyForm(),
        feed_names_form=forms.FeedNamesForm(show_names=booking_settings.schedule_of(practitioner.id).feed_shows_patient_names),
        has_feed=booking_calendar_feed.has_calendar_feed(practitioner.id), weekdays=forms.WEEKDAY_LABELS,
    )


def _reason_values(form: forms.VisitReasonForm) -> dict | None:
    price = form.price_cents()
    if price is None:
        form.price_euros.errors = list(form.price_euros.errors) + [_("Write a price like 30 or 26,50.")]
        return None
    return {"label": form.label.data, "duration_minutes": form.duration_minutes.data, "price_cents": price,
            "new_patients": form.new_patients.data, "returning_patients": form.returning_patients.data,
            "mode": VisitMode(form.mode.data), "shown_in_messages": form.shown_in_messages.data}


@bp.route("/settings/visit-reasons", methods=["GET", "POST"])
@login_required
def visit_reasons():
    practitioner = agendas.own_practitioner(current_user)
    form = forms.VisitReasonForm()
    if form.validate_on_submit() and (values := _reason_values(form)) is not None:
        with form_action(form) as done:
            booking_settings.create_visit_reason(current_user, **values)
        if done.succeeded:
            flash(_("The visit reason is added."), "success")
            return redirect(url_for("booking.visit_reasons"))
    return render_template("booking/visit_reasons.html", form=form, action_form=forms.EmptyForm(),
                           reasons=booking_settings.visit_reasons_of(practitioner.id, include_archived=True))


def _own_visit_reason(reason_id: int):
    """One of the practitioner's visit reasons, archived ones included; 404 for any other."""
    practitioner = agendas.own_practitioner(current_user)
    reasons = booking_settings.visit_reasons_of(practitioner.id, include_archived=True)
    reason = next((r for r in reasons if r.id == reason_id), None)
    if reason is None:
        abort(404)
    return reason


@bp.route("/settings/visit-reasons/<int:reason_id>", methods=["GET", "POST"])
@login_required
def edit_visit_reason(reason_id: int):
    reason = _own_visit_reason(reason_id)
    form = forms.VisitReasonForm(obj=reason)
    if request.method == "GET":
        form.price_euros.data = f"{reason.price_cents / 100:.2f}".replace(".", ",")
        form.mode.data = reason.mode.value
    if form.validate_on_submit() and (values := _reason_values(form)) is not None:
        with form_action(form) as done:
            booking_settings.update_visit_reason(current_user, reason.id, **values)
        if done.succeeded:
            flash(_("The visit reason is saved."), "success")
            return redirect(url_for("booking.visit_reasons"))
    return render_template("booking/visit_reason_edit.html", form=form, reason=reason)


@bp.route("/settings/visit-reasons/<int:reason_id>/<any(archive, restore):action>", methods=["POST"])
@login_required
def archive_visit_reason(reason_id: int, action: str):
    if forms.EmptyForm().validate_on_submit():
        service = (booking_settings.archive_visit_reason if action == "archive"
                   else booking_settings.restore_visit_reason)
        with form_action(passes=(403, 404)) as done:
            service(current_user, reason_id)
        if done.succeeded:
            flash(_("The visit reason is archived.") if action == "archive" else _("The visit reason is restored."),
                  "success")
    return redirect(url_for("booking.visit_reasons"))


def _weekly_values(practitioner_id: int) -> list[dict]:
    return [{"weekday": row.weekday, "start": row.start_time, "end": row.end_time}
            for row in booking_settings.weekly_hours_of(practitioner_id)]


# Opening hours and absences: webapp.booking.schedule_views.


@bp.route("/settings/rules", methods=["GET", "POST"])
@login_required
def rules():
    practitioner = agendas.own_practitioner(current_user)
    schedule = booking_settings.schedule_of(practitioner.id)
    form = forms.RulesForm(obj=schedule)
    form.timezone.choices = [SelectChoice(name, name) for name in sorted(booking_settings.known_timezones())]
    if form.validate_on_submit():
        values = {name: getattr(form, name).data for name in SCHEDULE_DEFAULTS}
        with form_action(form) as done:
            booking_settings.update_schedule(current_user, weekly=_weekly_values(practitioner.id), **values)
        if done.succeeded:
            flash(_("Your booking rules are saved."), "success")
            return redirect(url_for("booking.settings"))
    return render_template("booking/rules.html", form=form)


@bp.route("/settings/absences/<int:absence_id>/delete", methods=["POST"])
@login_required
def delete_absence(absence_id: int):
    if forms.EmptyForm().validate_on_submit():
        with form_action(passes=(403, 404)) as done:
            booking_settings.delete_absence(current_user, absence_id)
        if done.succeeded:
            flash(_("The absence is removed."), "success")
    return redirect(url_for("booking.absences"))


@bp.route("/settings/calendar-feed", methods=["POST"])
@login_required
def rotate_calendar_feed():
    if not forms.EmptyForm().validate_on_submit():
        return redirect(url_for("booking.settings"))
    with form_action(passes=(403, 404)) as done:
        token = booking_calendar_feed.rotate_calendar_feed(current_user)
    if not done.succeeded:
        return redirect(url_for("booking.settings"))
    return render_template("booking/calendar_feed.html", url=ics.feed_url(token))


@bp.route("/settings/calendar-feed/names", methods=["POST"])
@login_required
def calendar_feed_names():
    form = forms.FeedNamesForm()
    if form.validate_on_submit():
        with form_action(passes=(403, 404)) as done:
            booking_calendar_feed.set_feed_patient_names(current_user, form.show_names.data)
        if done.succeeded:
            flash(_("Your calendar feed shows patients' names.") if form.show_names.data
                  else _("Your calendar feed shows patients' initials only."), "success")
    return redirect(url_for("booking.settings"))


@bp.route("/calendar/<token>.ics")
@limiter.limit("60 per minute")
def calendar_feed(token: str):
    # Tokens are far shorter: a longer one is refused before it is hashed and looked up.
    practitioner = booking_calendar_feed.practitioner_for_feed(token) if len(token) <= 100 else None
    if practitioner is None:
        abort(404)
    appointments = booking_calendar_feed.feed_appointments(practitioner.id)
    show_names = booking_settings.schedule_of(practitioner.id).feed_shows_patient_names
    # Calendar apps poll the feed often: five minutes of caching spares the
    # database, and `private` keeps the agenda out of shared caches.
    return Response(ics.agenda_calendar(practitioner, appointments, show_names=bool(show_names)),
                    mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})
