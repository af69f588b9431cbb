"""The notebook as a readable PDF: grouped by kind, each group by date, every version and file named."""

import datetime as dt
import io
from html import escape

from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer

from webapp.notebook.kinds import KIND_LABELS, data_lines
from webapp.notebook.models import EntryKind, NotebookEntry


def _text(value: str) -> str:
    return escape(value).replace("\n", "<br/>")


def _entry_flowables(entry: NotebookEntry, styles) -> list:
    heading = f"{format_datetime(entry.created_at, 'medium')} · {entry.title}"
    lines = [Paragraph(_text(heading), styles["Heading3"])]
    facts = [_("Written by %(name)s", name=entry.author_name)]
    if entry.supersedes_id:
        facts.append(_("Corrects entry #%(id)s", id=entry.supersedes_id))
    if entry.is_superseded:
        facts.append(_("Superseded by entry #%(id)s", id=entry.superseded_by.id))
    facts.append(_("Entry #%(id)s", id=entry.id))
    lines.append(Paragraph(_text(" · ".join(facts)), styles["Italic"]))
    for label, value in data_lines(entry.kind, entry.data):
        lines.append(Paragraph(f"<b>{_text(label)}</b> : {_text(value)}", styles["BodyText"]))
    if entry.body:
        lines.append(Paragraph(_text(entry.body), styles["BodyText"]))
    for attachment in entry.attachments:
        lines.append(Paragraph(_text(_("Attached file: %(name)s", name=attachment.original_filename)),
                               styles["BodyText"]))
    lines.append(Spacer(1, 0.3 * cm))
    return [KeepTogether(lines)]


def notebook_pdf(patient, entries: list[NotebookEntry], generated_at: dt.datetime) -> bytes:
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm, bottomMargin=2 * cm,
        title=_("Health notebook of %(name)s", name=patient.full_name), author="Carnet",
    )
    story = [
        Paragraph(_text(_("Health notebook of %(name)s", name=patient.full_name)), styles["Title"]),
        Paragraph(_text(_("Born on %(date)s", date=format_date(patient.birth_date, "long"))), styles["BodyText"]),
        Paragraph(_text(_("Exported on %(date)s", date=format_datetime(generated_at, "long"))), styles["BodyText"]),
        Spacer(1, 0.5 * cm),
    ]
    if not entries:
        story.append(Paragraph(_text(_("This notebook has no entries yet.")), styles["BodyText"]))
    for kind in EntryKind:
        group = [entry for entry in entries if entry.kind is kind]
        if not group:
            continue
        story.append(Paragraph(_text(str(KIND_LABELS[kind])), styles["Heading2"]))
        for entry in sorted(group, key=lambda item: (item.created_at, item.id)):
            story.extend(_entry_flowables(entry, styles))
    document.build(story)
    return buffer.getvalue()
