"""Notebook pages: timeline with summary and charts, entries, corrections, files,
sharing and masking, access log, emergency access, export; the practitioner's patient list."""

import io
import secrets
from contextlib import contextmanager
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, send_file, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from webapp.accounts.models import Role, User
from webapp.accounts.sessions import recently_reauthenticated
from webapp.accounts.verification import is_unverified_practitioner
from webapp.booking.appointment_actions import AppointmentAction, register_appointment_actions
from webapp.booking.models import Appointment, AppointmentStatus
from webapp.booking.visits import visit_has_begun
from webapp.errors import CarnetError
from webapp.navigation import register_nav
from webapp.notebook import (
    bp,
    controls,
    emergency,
    exports,
    masking,
    overview,
    patient_lists,
    permissions,
    reading,
    rules,
    writing,
)
from webapp.notebook.api import PRIVATE_HEADERS, attachment_response
from webapp.notebook.charts import build_charts
from webapp.notebook.digest import RECENT_CHART_POINTS
from webapp.notebook.formats import long_dates, medium_datetimes
from webapp.notebook.forms import (
    AttachmentForm,
    ChoicesForm,
    EmergencyAccessForm,
    PatientSearchForm,
    entry_form_class,
    prefilled_form,
)
from webapp.notebook.kinds import KIND_LABELS, SEVERITIES, data_lines
from webapp.notebook.measurements import measurement_history
from webapp.notebook.models import AccessAction, EntryKind
from webapp.paging import page_number, paginate
from webapp.transaction import transaction
from webapp.web import form_action

register_nav("notebook.my_notebook", _l("My notebook"), {Role.PATIENT}, order=30)
register_nav("notebook.treated_patients", _l("My patients"), {Role.PRACTITIONER}, order=30,
             when=lambda user: not is_unverified_practitioner(user))


def _agenda_actions(appointment: Appointment, user: User) -> list[AppointmentAction]:
    """On the agenda's appointment page: open the notebook, and write in it once the visit has begun."""
    try:
        access = permissions.notebook_access(user, appointment.patient_id)
    except CarnetError:
        return []
    actions = [AppointmentAction(_l("Open the notebook"),
                                 url_for("notebook.patient_notebook", patient_id=appointment.patient_id))]
    if access.can_write and appointment.status is not AppointmentStatus.CANCELLED \
            and visit_has_begun(appointment):
        # Any kind of entry may be written from the visit (`kind` of the entry form).
        kinds = tuple((label, url_for("notebook.new_entry", patient_id=appointment.patient_id,
                                      appointment_id=appointment.id, kind=kind.value))
                      for kind, label in KIND_LABELS.items())
        actions.insert(0, AppointmentAction(_l("Write in the notebook"), url_for(
            "notebook.new_entry", patient_id=appointment.patient_id, appointment_id=appointment.id), primary=True,
            choices=kinds))
    return actions


register_appointment_actions(_agenda_actions)

NOTEBOOK = "/patients/<int:patient_id>/notebook"
PATIENTS_PAGE_SIZE = 20
ACTION_LABELS = {
    AccessAction.VIEW_NOTEBOOK: _l("opened the notebook"),
    AccessAction.VIEW_ENTRY: _l("read an entry"),
    AccessAction.VIEW_ATTACHMENT: _l("opened a file"),
    AccessAction.VIEW_MEASUREMENTS: _l("read the measurements"),
    AccessAction.ADD_ENTRY: _l("added an entry"),
    AccessAction.SUPERSEDE_ENTRY: _l("corrected an entry"),
    AccessAction.ADD_ATTACHMENT: _l("added a file"),
    AccessAction.EMERGENCY_ACCESS: _l("opened emergency access"),
    AccessAction.PROFILE_CLAIMED: _l("claimed the profile with their own account"),
}


@bp.context_processor
def notebook_helpers():
    # Labels translated once per page rather than once per line that shows them.
    return {"kind_labels": {kind: str(label) for kind, label in KIND_LABELS.items()}, "data_lines": data_lines,
            "action_labels": {action: str(label) for action, label in ACTION_LABELS.items()},
            "medium_datetime": medium_datetimes()}


@dataclass(frozen=True)
class SummaryLines:
    """The summary as the page prints it, one tuple per line."""

    allergies: list[tuple[str, str, str, str]]  # substance, reaction, severity, severity label
    treatments: list[tuple[str, str, str]]  # drug, dosage, period
    vaccinations: list[tuple[str, str]]  # vaccine, date


def _summary_lines(summary: overview.Summary) -> SummaryLines:
    """Labels, phrases and dates looked up once per page: a summary holds
    hundreds of lines, and a lookup inside the template's loop costs more
    than the line itself."""
    severities = {key: str(label) for key, label in SEVERITIES.items()}
    long_date = long_dates()
    since, until = _("since %(date)s"), _("until %(date)s")

    def period(data: dict) -> str:
        text = since % {"date": long_date(data["start"])}
        return f"{text}, {until % {'date': long_date(data['end'])}}" if data["end"] else text

    return SummaryLines(
        allergies=[(item.data["substance"], item.data["reaction"], item.data["severity"],
                    severities[item.data["severity"]]) for item in summary.allergies],
        treatments=[(item.data["drug"], item.data["dosage"], period(item.data)) for item in summary.treatments],
        vaccinations=[(item.data["vaccine"], long_date(item.data["date"]))
                      for item in summary.vaccinations],
    )


def _kind_argument() -> EntryKind | None:
    value = request.args.get("kind") or None
    if value is None:
        return None
    try:
        return EntryKind(value)
    except ValueError:
        abort(404)


@bp.route("/notebook")
@login_required
def my_notebook():
    """A patient's notebooks: their own and their relatives'."""
    profiles = patient_lists.acting_profiles(current_user)
    if len(profiles) == 1:
        return redirect(url_for("notebook.patient_notebook", patient_id=profiles[0].id))
    return render_template("notebook/my_notebooks.html", profiles=profiles)


@bp.route("/practitioner/patients")
@login_required
def treated_patients():
    """The practitioner's patients, searched by name and birth date, a page at a time."""
    form = PatientSearchForm(formdata=request.args)
    is_valid = form.validate()
    statement = patient_lists.search_treated_patients(
        current_user, text=(form.q.data or "") if is_valid else "", birth_date=form.born.data if is_valid else None)
    page = paginate(statement, page=page_number(), per_page=PATIENTS_PAGE_SIZE)
    searched = bool(is_valid and (form.q.data or form.born.data))
    return render_template("notebook/treated_patients.html", form=form, page=page, searched=searched)


@bp.route(NOTEBOOK)
@login_required
def patient_notebook(patient_id: int):
    kind = _kind_argument()
    with transaction():
        page = overview.notebook_page(current_user, patient_id, kind=kind, page=page_number())
        return render_template("notebook/notebook.html", page=page, access=page.access, patient=page.access.patient,
                               download_url=_pending_download(patient_id) if page.access.is_patient_side else None,
                               summary=_summary_lines(page.summary),
                               charts=build_charts(page.measurements, latest=RECENT_CHART_POINTS),
                               recent_points=RECENT_CHART_POINTS, kind=kind,
                               entry_kinds=list(EntryKind))


@bp.route(f"{NOTEBOOK}/measurements")
@login_required
def measurements(patient_id: int):
    """Every current measurement, charted and listed (the notebook page charts the latest only)."""
    with transaction():
        access, points = measurement_history(current_user, patient_id)
        return render_template("notebook/measurements.html", access=access, patient=access.patient,
                               charts=build_charts(points))


def _entry_form_page(form, *, patient, kind, appointment_id=None, corrected=None):
    if request.method == "POST" or corrected is not None:
        getattr(form, "offer_units_of_chosen_type", lambda: None)()
    return render_template("notebook/entry_form.html", form=form, patient=patient, kind=kind,
                           appointment_id=appointment_id, corrected=corrected)


@contextmanager
def _on_entry_form(form):
    """Name a service error's fields as the entry form does (`data.value` is the
    form's `value`), so `form_action` places each message beside its input."""
    try:
        yield
    except CarnetError as error:
        raise type(error)(error.message, code=error.code, fields={
            form.service_field(name): messages for name, messages in error.fields.items()}) from None


def _flash_errors(form, default: str | None = None) -> None:
    """The errors of a form that lives on the entry page, shown there after the redirect."""
    messages = [*form.form_errors, *(message for field in form for message in field.errors)]
    if messages or default:
        flash(" ".join(messages) or default, "error")


@bp.route(f"{NOTEBOOK}/new", methods=["GET", "POST"])
@login_required
def new_entry(patient_id: int):
    """Add an entry of one kind; `appointment_id` links it to the visit it is written in."""
    kind = _kind_argument() or EntryKind.NOTE
    appointment_id = request.args.get("appointment_id", type=int)
    access = permissions.writer_access(current_user, patient_id)
    form = entry_form_class(kind)()
    if form.validate_on_submit():
        with form_action(form) as action, _on_entry_form(form):
            entry = writing.add_entry(current_user, patient_id, kind=kind, title=form.title.data,
                                      body=form.body.data, data=form.data_payload(), appointment_id=appointment_id)
        if action.succeeded:
            flash(_("The entry is added to the notebook."), "success")
            return redirect(url_for("notebook.entry_detail", patient_id=patient_id, entry_id=entry.id))
    return _entry_form_page(form, patient=access.patient, kind=kind, appointment_id=appointment_id)


@bp.route(f"{NOTEBOOK}/entries/<int:entry_id>")
@login_required
def entry_detail(patient_id: int, entry_id: int):
    """An entry with its whole correction history, its files and (patient side) who it is hidden from."""
    with transaction():
        access, versions = reading.entry_versions(current_user, patient_id, entry_id)
        entry = next(version for version in versions if version.id == entry_id)
        candidates = masking.masking_candidates(current_user, patient_id, entry) if access.is_patient_side else []
        return render_template(
            "notebook/entry.html", access=access, patient=access.patient, versions=versions, entry=entry,
            candidates=candidates, attachment_form=AttachmentForm(), choices_form=ChoicesForm(),
        )


@bp.route(f"{NOTEBOOK}/entries/<int:entry_id>/supersede", methods=["GET", "POST"])
@login_required
def supersede_entry(patient_id: int, entry_id: int):
    """Correct an entry: the form starts from the entry; the old version stays in the history."""
    with transaction():
        corrected = writing.entry_for_correction(current_user, patient_id, entry_id)
        form = entry_form_class(corrected.kind)() if request.method == "POST" \
            else prefilled_form(corrected.kind, corrected)
        if form.validate_on_submit():
            with form_action(form) as action, _on_entry_form(form):
                new = writing.supersede_entry(current_user, patient_id, entry_id, title=form.title.data,
                                              body=form.body.data, data=form.data_payload())
            if action.succeeded:
                flash(_("The correction is added; the previous version stays in the history."), "success")
                return redirect(url_for("notebook.entry_detail", patient_id=patient_id, entry_id=new.id))
            # The refused correction rolled back the read's access-log line too: the form shows the entry again.
            corrected = writing.entry_for_correction(current_user, patient_id, entry_id)
        return _entry_form_page(form, patient=corrected.patient, kind=corrected.kind, corrected=corrected)


@bp.route(f"{NOTEBOOK}/entries/<int:entry_id>/attachments", methods=["POST"])
@login_required
def upload_attachment(patient_id: int, entry_id: int):
    form = AttachmentForm()
    if form.validate_on_submit():
        upload = form.file.data
        with form_action(form, passes=(403, 404)) as action:
            writing.add_attachment(current_user, patient_id, entry_id, filename=upload.filename,
                                   content=upload.read())
        if action.succeeded:
            flash(_("The file is attached."), "success")
        else:
            _flash_errors(form)
    else:
        _flash_errors(form, default=_("Choose a file."))
    return redirect(url_for("notebook.entry_detail", patient_id=patient_id, entry_id=entry_id))


@bp.route(f"{NOTEBOOK}/entries/<int:entry_id>/attachments/<attachment_id>")
@login_required
def download_attachment(patient_id: int, entry_id: int, attachment_id: str):
    with transaction():
        return attachment_response(reading.get_attachment(current_user, patient_id, entry_id, attachment_id))


def _checked_ids(name: str) -> list[int]:
    # Checkbox values come from our own page: anything else is a forged request (400), not a form error.
    values = request.form.getlist(name)
    if not all(value.isdigit() and len(value) < 10 for value in values):
        abort(400)
    return [int(value) for value in values]


@bp.route(f"{NOTEBOOK}/entries/<int:entry_id>/masking", methods=["POST"])
@login_required
def entry_masking(patient_id: int, entry_id: int):
    form = ChoicesForm()
    if not form.validate_on_submit():
        abort(400)
    with form_action(form, passes=(403, 404)) as action:
        masking.set_masking(current_user, patient_id, entry_id, _checked_ids("hidden_from"))
    if action.succeeded:
        flash(_("Who sees this entry is updated."), "success")
    else:
        _flash_errors(form)
    return redirect(url_for("notebook.entry_detail", patient_id=patient_id, entry_id=entry_id))


@bp.route(f"{NOTEBOOK}/sharing", methods=["GET", "POST"])
@login_required
def sharing(patient_id: int):
    """The patient side chooses which practitioners may open the notebook, and
    whether anyone may open it in an emergency."""
    form = ChoicesForm()
    if form.validate_on_submit():
        emergency_access = rules.EMERGENCY_LOCKED if request.form.get("emergency_locked") else rules.EMERGENCY_ALLOWED
        with form_action(form, passes=(403, 404)) as action:
            controls.set_sharing(current_user, patient_id, _checked_ids("revoked"), emergency_access=emergency_access)
        if action.succeeded:
            flash(_("Sharing is updated."), "success")
            return redirect(url_for("notebook.sharing", patient_id=patient_id))
    with transaction():
        return render_template("notebook/sharing.html", form=form,
                               sharing=controls.sharing_overview(current_user, patient_id))


@bp.route(f"{NOTEBOOK}/access-log")
@login_required
def access_log(patient_id: int):
    with transaction():
        log = controls.list_access_log(current_user, patient_id, page=page_number(), per_page=50)
        return render_template("notebook/access_log.html", log=log, patient_id=patient_id)


@bp.route(f"{NOTEBOOK}/emergency", methods=["GET", "POST"])
@login_required
def emergency_access(patient_id: int):
    """A practitioner without a treating link opens the notebook in an emergency."""
    if current_user.role is not Role.PRACTITIONER:
        abort(404)
    form = EmergencyAccessForm()
    if form.validate_on_submit():
        # An identity that does not match is the 404 page of an unknown id; the
        # other refusals (locked, not verified, daily limit) are told on the form.
        with form_action(form, passes=(404,)) as action:
            emergency.grant_emergency_access(
                current_user, patient_id, reason=form.reason.data, first_name=form.first_name.data,
                last_name=form.last_name.data, birth_date=form.birth_date.data, totp=form.totp.data)
        if action.succeeded:
            flash(_("Emergency access is open for a limited time. The patient is informed."), "success")
            return redirect(url_for("notebook.patient_notebook", patient_id=patient_id))
    return render_template("notebook/emergency.html", form=form, patient_id=patient_id)


EXPORT = f"{NOTEBOOK}/export.<any(pdf, fhir):export_format>"
# The download the notebook page starts once, after the password was confirmed for it.
PENDING_DOWNLOAD_KEY = "notebook_download"


@bp.route(EXPORT)
@login_required
def export(patient_id: int, export_format: str):
    """The export file; without a recent confirmation of the password, the
    confirmation page first, which then leads back to the notebook (see `export_ready`)."""
    # Whoever may not export gets the 404 or 403 at once, not a password prompt first.
    exports.check_export_allowed(current_user, patient_id)
    if not recently_reauthenticated():
        return _confirm_first(patient_id, export_format)
    return _download_export(patient_id, export_format)


@bp.route(f"{EXPORT}/ready")
@login_required
def export_ready(patient_id: int, export_format: str):
    """Where the confirmation page leads: back to the notebook, which starts
    the download itself (a refresh to the file, no script needed) and offers its link."""
    exports.check_export_allowed(current_user, patient_id)
    if not recently_reauthenticated():
        return _confirm_first(patient_id, export_format)
    token = secrets.token_urlsafe(16)
    session[PENDING_DOWNLOAD_KEY] = {"token": token, "patient_id": patient_id, "format": export_format}
    return redirect(url_for("notebook.patient_notebook", patient_id=patient_id, download=token))


def _confirm_first(patient_id: int, export_format: str):
    ready = url_for("notebook.export_ready", patient_id=patient_id, export_format=export_format)
    return redirect(url_for("accounts.reauthenticate", next=ready))


def _pending_download(patient_id: int) -> str | None:
    """The export URL the notebook page downloads now, once: the token of
    its link must be the one `export_ready` just gave."""
    token = request.args.get("download")
    pending = session.get(PENDING_DOWNLOAD_KEY)
    if not token or not isinstance(pending, dict) or pending.get("patient_id") != patient_id \
            or not secrets.compare_digest(str(pending.get("token")), token):
        return None
    session.pop(PENDING_DOWNLOAD_KEY)
    return url_for("notebook.export", patient_id=patient_id, export_format=pending["format"])


def _download_export(patient_id: int, export_format: str):
    with transaction():
        exported = exports.export_notebook(current_user, patient_id, export_format)
    response = send_file(io.BytesIO(exported.content), mimetype=exported.mimetype, as_attachment=True,
                         download_name=exported.filename)
    response.headers.update(PRIVATE_HEADERS)
    return response
