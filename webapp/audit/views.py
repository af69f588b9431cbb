"""The audit page of the operator's administrators."""

import datetime as dt

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.audit import bp, services
from webapp.audit.forms import EventFiltersForm
from webapp.navigation import register_nav
from webapp.paging import page_number
from webapp.transaction import transaction
from webapp.web import roles_required

PER_PAGE = 50

register_nav("audit.events", _l("Audit trail"), {services.AUDIT_READER_ROLE}, order=90)


def _start_of_day(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else None


@bp.route("/admin/audit")
@roles_required(services.AUDIT_READER_ROLE)
def events():
    form = EventFiltersForm(formdata=request.args)
    page = page_number()
    if not form.validate():
        return render_template("audit/events.html", form=form, items=[], total=0, page=1, pages=1, query={})
    until = form.until.data + dt.timedelta(days=1) if form.until.data else None
    filters = services.EventFilters(
        action=form.action.data or None, actor_id=form.actor_id.data,
        target_type=form.target_type.data or None, target_id=(form.target_id.data or "").strip() or None,
        since=_start_of_day(form.since.data), until=_start_of_day(until),
    )
    with transaction():
        items, total = services.search_events(current_user, filters, page=page, per_page=PER_PAGE)
    # Only the filters' own names go back into the page links (never "_external" and the like).
    query = {field.name: request.args[field.name] for field in form if field.name in request.args}
    return render_template("audit/events.html", form=form, items=items, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)), query=query)
