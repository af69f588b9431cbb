"""The notebook as a readable PDF: a one-page summary first (identity,
allergies, current treatments, vaccinations, latest measurements), then the
entries grouped by kind, each group by date, every version and file named;
"page N / M" at the foot of every page."""

import datetime as dt
import io
from html import escape

from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepInFrame,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from webapp.notebook.kinds import KIND_LABELS, SEVERITIES, data_lines
from webapp.notebook.models import EntryKind, NotebookEntry

MARGIN = 2 * cm
# The summary holds on one page: longer lists end with "and N more" (the entries follow in full),
# and what is still too tall is drawn smaller.
SUMMARY_LIMIT = 8
SEX_LABELS = {"female": _l("female"), "male": _l("male"), "other": _l("other")}


def _text(value: str) -> str:
    return escape(value).replace("\n", "<br/>")


class _NumberedCanvas(Canvas):
    """Writes "page N / M" on every page once the number of pages is known."""

    def __init__(self, *args, page_label: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._page_label = page_label
        self._pages: list[dict] = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        count = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont("Helvetica", 9)
            self.setFillColor(colors.grey)
            self.drawRightString(A4[0] - MARGIN, MARGIN / 2,
                                 self._page_label % {"page": self._pageNumber, "count": count})
            super().showPage()
        super().save()


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


def _latest_measurements(entries: list[NotebookEntry]) -> list[NotebookEntry]:
    """The latest current measurement of each type, in the order of the types' first appearance."""
    latest: dict[str, NotebookEntry] = {}
    for entry in entries:
        if entry.kind is EntryKind.MEASUREMENT and not entry.is_superseded:
            kept = latest.get(entry.data["type"])
            if kept is None or entry.data["measured_at"] >= kept.data["measured_at"]:
                latest[entry.data["type"]] = entry
    return list(latest.values())


def _measurement_row(entry: NotebookEntry) -> list[str]:
    (label, value), (_label, measured_on) = data_lines(entry.kind, entry.data)
    return [label, value, measured_on]


def _section(title: str, rows: list[list[str]], styles) -> list:
    """A heading and a small table, or a line saying there is nothing."""
    flowables = [Paragraph(_text(title), styles["Heading3"])]
    if not rows:
        return [*flowables, Paragraph(_text(_("None recorded.")), styles["BodyText"])]
    shown = rows[:SUMMARY_LIMIT]
    small = styles["BodyText"].clone("SummaryCell", fontSize=9, leading=11)
    table = Table([[Paragraph(_text(cell), small) for cell in row] for row in shown],
                  colWidths=[(A4[0] - 2 * MARGIN) / len(shown[0])] * len(shown[0]))
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                               ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    flowables.append(table)
    if len(rows) > SUMMARY_LIMIT:
        flowables.append(Paragraph(_text(_("and %(count)s more, listed below.", count=len(rows) - SUMMARY_LIMIT)),
                                   styles["Italic"]))
    return flowables


def _summary_flowables(patient, summary, entries: list[NotebookEntry], generated_at: dt.datetime, styles) -> list:
    identity = [_("Born on %(date)s", date=format_date(patient.birth_date, "long"))]
    if patient.sex is not None:
        identity.append(_("Sex: %(sex)s", sex=SEX_LABELS[patient.sex.value]))
    story = [
        Paragraph(_text(_("Health notebook of %(name)s", name=patient.full_name)), styles["Title"]),
        Paragraph(_text(" · ".join(identity)), styles["BodyText"]),
        Paragraph(_text(_("Exported on %(date)s", date=format_datetime(generated_at, "long"))), styles["BodyText"]),
        Paragraph(_text(_("Summary")), styles["Heading2"]),
    ]

    def period(data: dict) -> str:
        since = _("since %(date)s", date=format_date(dt.date.fromisoformat(data["start"]), "long"))
        if not data["end"]:
            return since
        return f"{since}, {_('until %(date)s', date=format_date(dt.date.fromisoformat(data['end']), 'long'))}"

    story += _section(_("Allergies"), [
        [item.data["substance"], item.data["reaction"] or "—", str(SEVERITIES[item.data["severity"]])]
        for item in summary.allergies], styles)
    story += _section(_("Current treatments"), [
        [item.data["drug"], item.data["dosage"], period(item.data)] for item in summary.treatments], styles)
    story += _section(_("Vaccinations"), [
        [item.data["vaccine"], format_date(dt.date.fromisoformat(item.data["date"]), "long")]
        for item in summary.vaccinations], styles)
    story += _section(_("Latest measurements"), [_measurement_row(entry) for entry in _latest_measurements(entries)],
                      styles)
    return story


def notebook_pdf(patient, entries: list[NotebookEntry], generated_at: dt.datetime, summary) -> bytes:
    """`summary` holds the current allergies, treatments and vaccinations (services.Summary)."""
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN,
        title=_("Health notebook of %(name)s", name=patient.full_name), author="Carnet",
    )
    summary_page = KeepInFrame(document.width, document.height - cm, mode="shrink",
                               content=_summary_flowables(patient, summary, entries, generated_at, styles))
    story = [summary_page, PageBreak()]
    if not entries:
        story.append(Paragraph(_text(_("This notebook has no entries yet.")), styles["BodyText"]))
    for kind in EntryKind:
        group = [entry for entry in entries if entry.kind is kind]
        if not group:
            continue
        story.append(Paragraph(_text(str(KIND_LABELS[kind])), styles["Heading2"]))
        for entry in sorted(group, key=lambda item: (item.created_at, item.id)):
            story.extend(_entry_flowables(entry, styles))
    page_label = _("Page %(page)s / %(count)s")
    document.build(story, canvasmaker=lambda *args, **kwargs: _NumberedCanvas(*args, page_label=page_label,
                                                                            **kwargs))
    return buffer.getvalue()
