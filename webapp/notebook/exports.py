"""Exporting the whole notebook, as a PDF or a FHIR R4 Bundle (patient side only)."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.db import now_utc
from webapp.extensions import db
from webapp.notebook import export_fhir
from webapp.notebook.digest import CurrentItem
from webapp.notebook.errors import InvalidEntry
from webapp.notebook.models import Attachment, NotebookEntry
from webapp.notebook.overview import summarize
from webapp.notebook.permissions import patient_side_access
from webapp.notebook.visibility import visible_entries

# What the exports read: no visit links nor masks, the files' content.
EXPORT_LOADING = (
    selectinload(NotebookEntry.author).selectinload(User.patient_profile),
    selectinload(NotebookEntry.author_practitioner),
    selectinload(NotebookEntry.attachments).undefer(Attachment.content),
    selectinload(NotebookEntry.superseded_by),
)


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    mimetype: str
    filename: str


def check_export_allowed(user: User, patient_id: int) -> None:
    """Refuse (404 or 403) whoever `export_notebook` would refuse, without exporting anything."""
    patient_side_access(user, patient_id)


def export_notebook(user: User, patient_id: int, export_format: str) -> ExportFile:
    """The whole notebook, every version and file included, as a PDF or a
    FHIR R4 Bundle (JSON). Only the patient side exports. The PDF opens on a
    summary of the current allergies, treatments, vaccinations and measurements."""
    access = patient_side_access(user, patient_id)
    entries = list(db.session.scalars(
        visible_entries(access)
        .options(*EXPORT_LOADING).order_by(NotebookEntry.created_at, NotebookEntry.id)
    ))
    generated_at = now_utc()
    stem = f"carnet-{access.patient.id}-{generated_at:%Y%m%d}"
    if export_format == "pdf":
        from webapp.notebook import export_pdf  # reportlab only where a PDF is made (tests/test_worker_memory.py)
        # The PDF's summary comes from the exported entries themselves, not from the
        # digest: the file must match what it lists, whatever the digest's state.
        current = [CurrentItem(entry.id, entry.kind, entry.data) for entry in entries
                   if entry.data and not entry.is_superseded]
        return ExportFile(export_pdf.notebook_pdf(access.patient, entries, generated_at, summarize(current)),
                          "application/pdf", f"{stem}.pdf")
    if export_format == "fhir":
        return ExportFile(export_fhir.notebook_bundle_json(access.patient, entries, generated_at),
                          "application/fhir+json", f"{stem}.fhir.json")
    raise InvalidEntry(fields={"format": [str(_l("Choose pdf or fhir."))]})
