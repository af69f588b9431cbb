"""The notebook page composed in one call: a page of entries, the current summary,
the latest measurements and the access log."""

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import current_app

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.notebook import digest
from webapp.notebook.controls import access_log_query
from webapp.notebook.digest import CurrentItem
from webapp.notebook.measurements import measurement_points
from webapp.notebook.models import AccessAction, AccessLogEntry, EntryKind
from webapp.notebook.permissions import NotebookAccess, log_access, notebook_access
from webapp.notebook.reading import entries_page
from webapp.notebook.visibility import masked_ids


@dataclass
class Summary:
    """The current state derived from the entries (corrected versions excluded)."""

    allergies: list[CurrentItem] = field(default_factory=list)
    treatments: list[CurrentItem] = field(default_factory=list)
    vaccinations: list[CurrentItem] = field(default_factory=list)


@dataclass
class NotebookPage:
    access: NotebookAccess
    entries: dict
    summary: Summary
    measurements: list[dict]
    recent_access_log: list[AccessLogEntry]


def local_today() -> dt.date:
    return dt.datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def _page_items(access: NotebookAccess) -> list[CurrentItem]:
    """The current summary entries and the latest measurements of each type the
    caller may see (masking applied)."""
    items = digest.summary_items(access.patient.id)
    masked = masked_ids(access)
    hidden_types = {item.data["type"] for item in items if item.kind is EntryKind.MEASUREMENT and item.id in masked}
    if hidden_types:
        # Latest points hidden from the caller leave room for older ones: read those whole series.
        items = [item for item in items
                 if item.kind is not EntryKind.MEASUREMENT or item.data["type"] not in hidden_types]
        items += digest.measurement_items(access.patient.id, sorted(hidden_types))
    if any(item.kind is EntryKind.VACCINATION and item.id in masked for item in items):
        # Likewise a latest vaccination hidden from the caller leaves the one before it
        # as their latest: read every current vaccination.
        items = [item for item in items if item.kind is not EntryKind.VACCINATION]
        items += digest.vaccination_items(access.patient.id)
    return [item for item in items if item.id not in masked] if masked else items


def summarize(items: list[CurrentItem]) -> Summary:
    summary = Summary()
    today = local_today()
    latest_vaccination: dict[str, CurrentItem] = {}
    for item in items:
        data = item.data
        if item.kind is EntryKind.ALLERGY and data["status"] == "active":
            summary.allergies.append(item)
        elif item.kind is EntryKind.TREATMENT and (data["end"] is None or dt.date.fromisoformat(data["end"]) >= today):
            summary.treatments.append(item)
        elif item.kind is EntryKind.VACCINATION:
            key = data["vaccine"].casefold()
            if key not in latest_vaccination or data["date"] >= latest_vaccination[key].data["date"]:
                latest_vaccination[key] = item
    summary.allergies.sort(key=lambda item: item.data["substance"].casefold())
    summary.treatments.sort(key=lambda item: item.data["drug"].casefold())
    summary.vaccinations = sorted(latest_vaccination.values(), key=lambda item: item.data["date"], reverse=True)
    return summary


def _recent_access_log(access: NotebookAccess, limit: int) -> list[AccessLogEntry]:
    return list(db.session.scalars(access_log_query(access.patient.id).limit(limit)))


def notebook_page(user: User, patient_id: int, *, kind=None, page: int = 1, per_page: int = 20,
                  access_log_size: int = 10) -> NotebookPage:
    """Everything the notebook page shows, in a constant number of queries
    and one decryption per entry shown plus one for the digest's summary: one
    page of entries, the current summary, the latest measurements of each type
    for the charts and, for the patient side, the latest access-log lines."""
    access = notebook_access(user, patient_id)
    items = _page_items(access)
    result = NotebookPage(
        access=access,
        entries=entries_page(access, kind=kind, page=page, per_page=per_page),
        summary=summarize(items),
        measurements=measurement_points(items),
        recent_access_log=_recent_access_log(access, access_log_size) if access.is_patient_side else [],
    )
    log_access(access, AccessAction.VIEW_NOTEBOOK)
    return result
