"""Public pages: the search, a practitioner's page, and joining their waiting list."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.accounts.models import Role
from webapp.accounts.specialties import SPECIALTIES
from webapp.booking import bp, forms, next_slots, pages, settings, waitlist
from webapp.booking import search as booking_search
from webapp.booking.view_helpers import date_arg, int_arg, patient_choices, text_arg, timezone_of
from webapp.navigation import register_nav
from webapp.paging import page_number, paginate
from webapp.web import form_action, roles_required

SEARCH_PAGE_SIZE = 20
RESULT_SLOTS_SHOWN = 4  # slot buttons under each search result
register_nav("booking.search", _l("Find a practitioner"), {Role.PATIENT}, order=10)


@bp.route("/search")
def search():
    specialty = request.args.get("specialty") if request.args.get("specialty") in SPECIALTIES else None
    place = text_arg("place")
    text = text_arg("q")
    statement = booking_search.search_practitioners(specialty=specialty, place=place, text=text)
    page = paginate(statement, page=page_number(), per_page=SEARCH_PAGE_SIZE)
    # The next slots and hours of the page's practitioners only, each in one query for the whole page.
    ids = [practitioner.id for practitioner in page["items"]]
    reasons = next_slots.default_reasons(ids)
    return render_template(
        "booking/search.html", page=page, specialties=SPECIALTIES, specialty=specialty, place=place, q=text,
        reasons=reasons, next_slots=next_slots.next_free_slots(reasons, RESULT_SLOTS_SHOWN),
        schedules=settings.schedules_of(ids), hold_form=forms.EmptyForm(),
    )


@bp.route("/practitioners/<int:practitioner_id>")
def practitioner_page(practitioner_id: int):
    page = pages.practitioner_page(practitioner_id, reason_id=int_arg("reason"), asked_week=date_arg("week", None))
    waitlist_form = None
    if page.reason and current_user.is_authenticated and current_user.role is Role.PATIENT:
        waitlist_form = forms.WaitlistForm(visit_reason_id=page.reason.id)
        waitlist_form.patient_id.choices = patient_choices()
    return render_template(
        "booking/practitioner.html", **page.context(), waitlist_form=waitlist_form, specialties=SPECIALTIES,
        hold_form=forms.EmptyForm(), whole_week=request.args.get("view") == "week" or "week" in request.args,
    )


@bp.route("/practitioners/<int:practitioner_id>/waitlist", methods=["POST"])
@roles_required(Role.PATIENT)
def join_waitlist(practitioner_id: int):
    form = forms.WaitlistForm()
    form.patient_id.choices = patient_choices()
    if form.validate_on_submit():
        timezone = timezone_of(practitioner_id)
        # "Before that date" means before its midnight where the practitioner works.
        before = dt.datetime.combine(form.before.data, dt.time(), ZoneInfo(timezone))
        reason_id = int(form.visit_reason_id.data) if form.visit_reason_id.data.isdigit() else None
        with form_action() as done:
            waitlist.join_waitlist(practitioner_id=practitioner_id, visit_reason_id=reason_id, before_at=before,
                                   patient_id=form.patient_id.data, by=current_user)
        if done.succeeded:
            flash(_("You are on the waiting list: we will tell you if an earlier slot frees up."), "success")
    else:
        flash(_("Choose a date for the waiting list."), "error")
    return redirect(url_for("booking.practitioner_page", practitioner_id=practitioner_id,
                            reason=form.visit_reason_id.data or None))
