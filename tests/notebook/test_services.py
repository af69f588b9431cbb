"""Notebook rules at the service level: access, append-only history, data, links, masking, log, summary
(emergency access: test_emergency.py)."""

import datetime as dt

import pytest
import sqlalchemy as sa

from tests import factories
from tests.booking.factories import make_appointment
from tests.notebook.factories import (
    PDF_BYTES,
    make_entry,
    make_measurement,
    make_treating_practitioner,
    mask_entry,
    past,
)
from webapp.accounts.models import Role
from webapp.booking.models import AppointmentStatus
from webapp.errors import Forbidden, NotFound
from webapp.extensions import db
from webapp.notebook import (
    controls,
    masking,
    measurements,
    overview,
    patient_lists,
    permissions,
    reading,
    signals,
    writing,
)
from webapp.notebook.errors import (
    AlreadySuperseded,
    AuthorAlwaysSees,
    InvalidAppointmentLink,
    InvalidEntry,
    NotEntryAuthor,
    PatientSideOnly,
)
from webapp.notebook.guards import AppendOnlyViolation
from webapp.notebook.models import AccessAction, AccessLogEntry, NotebookEntry
from webapp.transaction import transaction


def _log_rows() -> list[AccessLogEntry]:
    return list(db.session.scalars(sa.select(AccessLogEntry).order_by(AccessLogEntry.id)))


def _add(user, patient, **fields):
    with transaction():
        return writing.add_entry(user, patient.id, **({"kind": "note", "title": "Note", "body": ""} | fields))


@pytest.fixture
def received():
    """Every notebook signal sent during the test, as (signal name, kwargs)."""
    calls = []
    receivers = []
    for name in ("entry_added", "practitioner_entry_added", "emergency_access_granted"):
        def receiver(sender, name=name, **kwargs):
            calls.append((name, kwargs))
        getattr(signals, name).connect(receiver)
        receivers.append((getattr(signals, name), receiver))
    yield calls
    for signal, receiver in receivers:
        signal.disconnect(receiver)


# --- who reads ---------------------------------------------------------------

def test_anyone_without_a_link_gets_not_found_like_a_missing_notebook(world, app):
    with app.test_request_context():
        for actor in ("revoked", "unrelated", "staff", "other_patient"):
            with pytest.raises(NotFound):
                permissions.notebook_access(world.users[actor], world.patient.id)
        with pytest.raises(NotFound):
            permissions.notebook_access(world.users["patient"], 999_999)
        admin = factories.make_staff(role=Role.ADMIN)
        with pytest.raises(NotFound):
            permissions.notebook_access(admin, world.patient.id)


def test_a_cancelled_appointment_gives_no_access(world):
    practitioner = factories.make_practitioner()
    make_appointment(practitioner, world.patient, past(5), status=AppointmentStatus.CANCELLED)
    with pytest.raises(NotFound):
        reading.list_entries(practitioner.user, world.patient.id)


def test_an_upcoming_appointment_opens_nothing_before_its_visit(world):
    practitioner = factories.make_practitioner()
    make_appointment(practitioner, world.patient, past(0) + dt.timedelta(days=3), booked_at_desk=True)
    with pytest.raises(NotFound):
        reading.list_entries(practitioner.user, world.patient.id)
    with pytest.raises(NotFound):
        writing.add_entry(practitioner.user, world.patient.id, kind="note", title="Avant la visite", body="")


def test_patient_side_sees_everything_practitioners_not_what_is_masked_from_them(world):
    own = make_entry(world.patient, author=world.masked.user, title="Écrit par le praticien masqué")
    mask_entry(own, world.masked)
    ids = {actor: [entry.id for entry in reading.list_entries(world.users[actor], world.patient.id)["items"]]
           for actor in ("patient", "proxy", "treating", "masked")}
    assert world.entry.id in ids["patient"] and world.entry.id in ids["proxy"] and world.entry.id in ids["treating"]
    assert world.entry.id not in ids["masked"]
    assert own.id in ids["masked"]  # a practitioner always sees what they wrote


# --- append-only -------------------------------------------------------------

def test_entries_and_log_rows_cannot_be_changed_or_deleted_through_the_orm(world):
    entry = db.session.get(NotebookEntry, world.entry.id)
    entry.kind = "report"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(NotebookEntry, world.entry.id))
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    reading.get_entry(world.users["treating"], world.patient.id, world.entry.id)
    db.session.commit()
    row = _log_rows()[0]
    row.emergency = True
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()


def test_services_offer_no_way_to_edit_or_delete_an_entry():
    modules = (controls, masking, measurements, overview, patient_lists, permissions, reading, writing)
    names = [name for module in modules for name in dir(module) if not name.startswith("_")]
    assert not [name for name in names if name.startswith(("update", "edit", "delete", "remove"))]


def test_supersede_chain_stays_readable_and_linear(world, received):
    patient = world.users["patient"]
    with transaction():
        second = writing.supersede_entry(patient, world.patient.id, world.entry.id, title="V2", body="Deuxième")
    with transaction():
        third = writing.supersede_entry(world.users["proxy"], world.patient.id, second.id, title="V3", body="")
    access, versions = reading.entry_versions(patient, world.patient.id, second.id)
    assert [version.title for version in versions] == ["Résultats sensibles", "V2", "V3"]
    assert [version.is_superseded for version in versions] == [True, True, False]
    assert versions[1].supersedes_id == world.entry.id and versions[2].supersedes_id == second.id
    with pytest.raises(AlreadySuperseded):
        writing.supersede_entry(patient, world.patient.id, world.entry.id, title="Autre", body="")
    db.session.rollback()
    assert third.hidden_from_practitioner_ids == [world.masked.id]  # masks follow the correction
    assert [name for name, _ in received].count("entry_added") == 2


def test_the_database_allows_one_correction_per_entry(world):
    db.session.add_all([
        NotebookEntry(patient_id=world.patient.id, kind="note", content=world.entry.content,
                      author_user_id=world.patient.account.id, author_role=Role.PATIENT, supersedes_id=world.entry.id)
        for _ in range(2)
    ])
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_only_the_authors_side_corrects(world):
    report = make_entry(world.patient, author=world.treating.user, kind="report", title="Compte rendu")
    with pytest.raises(NotEntryAuthor):
        writing.supersede_entry(world.users["patient"], world.patient.id, report.id, title="Non", body="")
    with pytest.raises(NotEntryAuthor):
        writing.supersede_entry(world.users["masked"], world.patient.id, report.id, title="Non", body="")
    with transaction():
        fixed = writing.supersede_entry(world.users["treating"], world.patient.id, report.id,
                                        title="Compte rendu corrigé", body="")
    assert fixed.author_practitioner_id == world.treating.id


def test_correction_keeps_the_structured_data_when_none_is_given(world):
    weight = make_measurement(world.patient, "weight", 80, "kg")
    with transaction():
        fixed = writing.supersede_entry(world.users["patient"], world.patient.id, weight.id, title="", body="Balance")
    assert fixed.data == weight.data and fixed.title == "Poids" and fixed.body == "Balance"


# --- structured data ---------------------------------------------------------

@pytest.mark.parametrize(("measurement_type", "unit", "good", "bad"), [
    ("blood_pressure_systolic", "mmHg", [50, 260], [49, 261]),
    ("blood_pressure_diastolic", "mmHg", [30, 160], [29, 161]),
    ("weight", "kg", [0.5, 400], [0.4, 401]),
    ("height", "cm", [20, 260], [19, 261]),
    ("glucose", "mmol/L", [0.5, 50], [0.4, 51]),
    ("glucose", "g/L", [0.1, 9], [0.05, 10]),
    ("hba1c", "%", [3, 20], [2.9, 21]),
    ("heart_rate", "bpm", [20, 250], [19, 251]),
    ("temperature", "°C", [30, 45], [29.9, 45.1]),
])
def test_measurement_ranges(world, measurement_type, unit, good, bad):
    for value in good:
        entry = _add(world.users["patient"], world.patient, kind="measurement", title="",
                     data={"type": measurement_type, "value": value, "unit": unit})
        assert entry.data["value"] == value
    for value in bad:
        with pytest.raises(InvalidEntry) as refused:
            writing.add_entry(world.users["patient"], world.patient.id, kind="measurement", title="", body="",
                              data={"type": measurement_type, "value": value, "unit": unit})
        assert "data.value" in refused.value.fields


def test_measurement_units_must_match_the_type(world):
    with pytest.raises(InvalidEntry) as refused:
        writing.add_entry(world.users["patient"], world.patient.id, kind="measurement", title="", body="",
                          data={"type": "hba1c", "value": 7, "unit": "mmol/L"})
    assert "%" in refused.value.fields["data.unit"][0]


def test_measurement_time_defaults_to_now_and_cannot_be_in_the_future(world):
    entry = _add(world.users["patient"], world.patient, kind="measurement", title="",
                 data={"type": "heart_rate", "value": 72, "unit": "bpm"})
    measured_at = dt.datetime.fromisoformat(entry.data["measured_at"])
    assert abs(measured_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    with pytest.raises(InvalidEntry):
        writing.add_entry(world.users["patient"], world.patient.id, kind="measurement", title="", body="", data={
            "type": "heart_rate", "value": 72, "unit": "bpm",
            "measured_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()})


def test_structured_kinds_are_normalised_and_titled(world):
    vaccination = _add(world.users["patient"], world.patient, kind="vaccination", title="",
                       data={"vaccine": " DTPolio ", "date": "2024-03-02"})
    assert vaccination.data == {"vaccine": "DTPolio", "lot": "", "date": "2024-03-02"}
    assert vaccination.title == "DTPolio"
    allergy = _add(world.users["patient"], world.patient, kind="allergy", title="Allergie connue",
                   data={"substance": "Latex", "severity": "moderate"})
    assert allergy.data == {"substance": "Latex", "reaction": "", "severity": "moderate", "status": "active"}
    treatment = _add(world.users["patient"], world.patient, kind="treatment", title="",
                     data={"drug": "Ramipril", "dosage": "5 mg le matin", "start": "2025-01-01"})
    assert treatment.data["end"] is None
    for kind, data in [("vaccination", {"vaccine": "Grippe"}), ("allergy", {"substance": "Latex"}),
                       ("treatment", {"drug": "X", "dosage": "1"}), ("allergy", {"substance": "Latex",
                                                                                "severity": "mild", "extra": 1})]:
        with pytest.raises(InvalidEntry):
            writing.add_entry(world.users["patient"], world.patient.id, kind=kind, title="", body="", data=data)


def test_text_kinds_need_a_title_and_no_data(world):
    with pytest.raises(InvalidEntry) as refused:
        writing.add_entry(world.users["patient"], world.patient.id, kind="prescription", title="  ", body="x")
    assert "title" in refused.value.fields
    with pytest.raises(InvalidEntry):
        writing.add_entry(world.users["patient"], world.patient.id, kind="report", title="x", body="",
                          data={"a": 1})
    with pytest.raises(InvalidEntry):
        writing.add_entry(world.users["patient"], world.patient.id, kind="diary", title="x", body="")


# --- writing and appointments ------------------------------------------------

def test_practitioner_links_an_entry_to_their_visit_only(world):
    own = make_appointment(world.treating, world.patient, past(1), status=AppointmentStatus.COMPLETED)
    colleagues = make_appointment(world.masked, world.patient, past(2), status=AppointmentStatus.COMPLETED)
    other_patient = factories.make_patient()
    elsewhere = make_appointment(world.treating, other_patient, past(3), status=AppointmentStatus.COMPLETED)
    cancelled = make_appointment(world.treating, world.patient, past(4), status=AppointmentStatus.CANCELLED)
    upcoming = make_appointment(world.treating, world.patient, past(0) + dt.timedelta(days=2))
    user = world.users["treating"]
    assert _add(user, world.patient, appointment_id=own.id).appointment_id == own.id
    for appointment in (colleagues, elsewhere, cancelled, upcoming):
        with pytest.raises(InvalidAppointmentLink):
            writing.add_entry(user, world.patient.id, kind="note", title="x", body="", appointment_id=appointment.id)
    with pytest.raises(InvalidAppointmentLink):
        writing.add_entry(user, world.patient.id, kind="note", title="x", body="", appointment_id=10**12)


def test_a_visit_about_to_start_is_written_in_once_the_patient_arrived(world):
    soon = make_appointment(world.treating, world.patient, past(0) + dt.timedelta(hours=2))
    with pytest.raises(InvalidAppointmentLink):
        _add(world.users["treating"], world.patient, appointment_id=soon.id)
    soon.arrived_at = dt.datetime.now(dt.UTC)
    db.session.commit()
    assert _add(world.users["treating"], world.patient, appointment_id=soon.id).appointment_id == soon.id


def test_patient_side_links_entries_to_the_patients_own_visits(world):
    visit = make_appointment(world.masked, world.patient, past(6), status=AppointmentStatus.COMPLETED)
    assert _add(world.users["proxy"], world.patient, appointment_id=visit.id).author_role is Role.PATIENT


def test_signals_for_new_entries(world, received):
    patient_entry = _add(world.users["patient"], world.patient)
    practitioner_entry = _add(world.users["treating"], world.patient, kind="report", title="CR")
    assert received == [
        ("entry_added", {"entry": patient_entry, "actor": world.users["patient"]}),
        ("entry_added", {"entry": practitioner_entry, "actor": world.users["treating"]}),
        ("practitioner_entry_added", {"entry": practitioner_entry, "actor": world.users["treating"]}),
    ]


def test_a_refused_write_sends_nothing_and_writes_nothing(world, received):
    with pytest.raises(InvalidEntry):
        with transaction():
            writing.add_entry(world.users["treating"], world.patient.id, kind="measurement", title="", body="",
                              data={"type": "weight", "value": -1, "unit": "kg"})
    assert received == [] and _log_rows() == []


# --- access log --------------------------------------------------------------

def test_access_log_records_practitioners_not_the_patient_side(world):
    reading.list_entries(world.users["patient"], world.patient.id)
    reading.get_entry(world.users["proxy"], world.patient.id, world.entry.id)
    db.session.commit()
    assert _log_rows() == []
    treating = world.users["treating"]
    reading.list_entries(treating, world.patient.id)
    reading.get_entry(treating, world.patient.id, world.entry.id)
    reading.get_attachment(treating, world.patient.id, world.entry.id, world.attachment.id)
    measurements.list_measurements(treating, world.patient.id)
    entry = writing.add_entry(treating, world.patient.id, kind="note", title="Note", body="")
    db.session.commit()
    rows = _log_rows()
    assert [(row.action, row.entry_id) for row in rows] == [
        (AccessAction.VIEW_NOTEBOOK, None), (AccessAction.VIEW_ENTRY, world.entry.id),
        (AccessAction.VIEW_ATTACHMENT, world.entry.id), (AccessAction.VIEW_MEASUREMENTS, None),
        (AccessAction.ADD_ENTRY, entry.id),
    ]
    assert {(row.actor_user_id, row.actor_role, row.emergency, row.patient_id) for row in rows} == {
        (treating.id, Role.PRACTITIONER, False, world.patient.id)}
    assert all(row.at <= dt.datetime.now(dt.UTC) for row in rows)


def test_refused_reads_are_not_logged_as_reads(world):
    with pytest.raises(NotFound):
        reading.get_entry(world.users["masked"], world.patient.id, world.entry.id)
    db.session.rollback()
    assert _log_rows() == []


def test_access_log_is_for_the_patient_side_only(world):
    reading.list_entries(world.users["treating"], world.patient.id)
    db.session.commit()
    assert controls.list_access_log(world.users["proxy"], world.patient.id)["total"] == 1
    with pytest.raises(PatientSideOnly):
        controls.list_access_log(world.users["treating"], world.patient.id)
    with pytest.raises(NotFound):
        controls.list_access_log(world.users["unrelated"], world.patient.id)


# --- sharing and masking -----------------------------------------------------

def test_revoking_and_restoring_a_practitioner(world):
    with transaction():
        controls.set_sharing(world.users["patient"], world.patient.id, [world.treating.id])
    with pytest.raises(NotFound):
        reading.list_entries(world.users["treating"], world.patient.id)
    assert reading.list_entries(world.users["revoked"], world.patient.id)["total"] == 2
    assert world.patient.id not in [p.id for p in patient_lists.treated_patients(world.users["treating"])]
    with pytest.raises(NotFound):
        writing.add_entry(world.users["treating"], world.patient.id, kind="note", title="x", body="")


def test_sharing_candidates_are_the_treating_and_revoked_practitioners(world):
    ids = {practitioner.id for practitioner in controls.sharing_candidates(world.users["patient"], world.patient.id)}
    assert ids == {world.treating.id, world.masked.id, world.revoked.id}


def test_masking_is_replaced_as_a_whole(world):
    with transaction():
        entry = masking.set_masking(world.users["patient"], world.patient.id, world.entry.id,
                                    [world.treating.id, world.revoked.id])
    assert entry.hidden_from_practitioner_ids == sorted([world.treating.id, world.revoked.id])
    with pytest.raises(NotFound):
        reading.get_entry(world.users["treating"], world.patient.id, world.entry.id)
    assert reading.get_entry(world.users["masked"], world.patient.id, world.entry.id).id == world.entry.id
    with pytest.raises(PatientSideOnly):
        masking.set_masking(world.users["treating"], world.patient.id, world.entry.id, [])


def test_an_entry_cannot_be_hidden_from_its_author(world):
    own = make_entry(world.patient, author=world.treating.user, title="Compte rendu")
    with pytest.raises(AuthorAlwaysSees):
        masking.set_masking(world.users["patient"], world.patient.id, own.id, [world.treating.id, world.masked.id])
    db.session.rollback()
    assert db.session.get(NotebookEntry, own.id).hidden_from_practitioner_ids == []
    candidates = masking.masking_candidates(world.users["patient"], world.patient.id, own)
    assert world.treating.id not in {practitioner.id for practitioner in candidates}
    assert world.masked.id in {practitioner.id for practitioner in candidates}


def test_masking_covers_every_version_so_no_link_points_to_a_hidden_one(world):
    original = make_entry(world.patient, title="Première version")
    with transaction():
        correction = writing.supersede_entry(world.users["patient"], world.patient.id, original.id,
                                             title="Version corrigée", body="", data=None)
    with transaction():
        masking.set_masking(world.users["patient"], world.patient.id, correction.id, [world.treating.id])
    reader = world.users["treating"]
    visible = {entry.id for entry in reading.list_entries(reader, world.patient.id)["items"]}
    assert original.id not in visible and correction.id not in visible
    assert all(entry.superseded_by is None or entry.superseded_by.id in visible
               for entry in reading.list_entries(reader, world.patient.id)["items"])
    with transaction():
        masking.set_masking(world.users["patient"], world.patient.id, original.id, [])
    assert {original.id, correction.id} <= {
        entry.id for entry in reading.list_entries(reader, world.patient.id)["items"]}


# --- summary and measurements ------------------------------------------------

def test_summary_reflects_the_current_state(world, app):
    patient = world.users["patient"]
    penicillin = make_entry(world.patient, kind="allergy", title="", data={"substance": "Pénicilline",
                                                                          "severity": "severe"})
    make_entry(world.patient, kind="allergy", title="", data={"substance": "Pollen", "severity": "mild",
                                                               "status": "resolved"})
    make_entry(world.patient, kind="treatment", title="", data={"drug": "Metformine", "dosage": "500 mg",
                                                                 "start": "2024-01-01"})
    make_entry(world.patient, kind="treatment", title="", data={"drug": "Ancien", "dosage": "1",
                                                                 "start": "2024-01-01", "end": "2024-02-01"})
    ending_today = make_entry(world.patient, kind="treatment", title="", data={
        "drug": "Jusqu'à ce soir", "dosage": "1", "start": "2024-01-01", "end": dt.date.today().isoformat()})
    make_entry(world.patient, kind="vaccination", title="", data={"vaccine": "Grippe", "date": "2023-10-01"})
    make_entry(world.patient, kind="vaccination", title="", data={"vaccine": "grippe", "date": "2024-10-01"})
    make_entry(world.patient, kind="vaccination", title="", data={"vaccine": "Tétanos", "date": "2020-05-01"})
    with transaction():
        writing.supersede_entry(patient, world.patient.id, penicillin.id, title="", body="",
                                data={"substance": "Amoxicilline", "severity": "severe"})
    with app.test_request_context():
        page = overview.notebook_page(patient, world.patient.id)
    summary = page.summary
    assert [entry.data["substance"] for entry in summary.allergies] == ["Amoxicilline"]
    assert [entry.data["drug"] for entry in summary.treatments] == ["Jusqu'à ce soir", "Metformine"]
    assert ending_today.id in [item.id for item in summary.treatments]
    assert [(entry.data["vaccine"], entry.data["date"]) for entry in summary.vaccinations] == [
        ("grippe", "2024-10-01"), ("Tétanos", "2020-05-01")]


def test_measurements_are_current_visible_and_in_time_order(world):
    late = make_measurement(world.patient, "weight", 83, "kg", days_ago=1)
    make_measurement(world.patient, "weight", 85, "kg", days_ago=20)
    wrong = make_measurement(world.patient, "weight", 8, "kg", days_ago=10)
    with transaction():
        writing.supersede_entry(world.users["patient"], world.patient.id, wrong.id, title="", body="", data={
            "type": "weight", "value": 84, "unit": "kg", "measured_at": past(10).isoformat()})
    mask_entry(late, world.treating)
    patient_view = measurements.list_measurements(world.users["patient"], world.patient.id, measurement_type="weight")
    assert [point["value"] for point in patient_view] == [85, 84, 81.5, 83]
    practitioner_view = measurements.list_measurements(world.users["treating"], world.patient.id)
    assert [point["value"] for point in practitioner_view] == [85, 84, 81.5]
    with pytest.raises(InvalidEntry):
        measurements.list_measurements(world.users["patient"], world.patient.id, measurement_type="mood")


# --- attachments ------------------------------------------------------------

def test_files_are_only_added_to_the_latest_version_by_its_author(world):
    with transaction():
        new = writing.supersede_entry(world.users["patient"], world.patient.id, world.entry.id, title="V2", body="")
    with pytest.raises(AlreadySuperseded):
        writing.add_attachment(world.users["patient"], world.patient.id, world.entry.id, filename="a.pdf",
                               content=PDF_BYTES)
    with pytest.raises(NotEntryAuthor):
        writing.add_attachment(world.users["treating"], world.patient.id, new.id, filename="a.pdf",
                               content=PDF_BYTES)
    with transaction():
        attachment = writing.add_attachment(world.users["proxy"], world.patient.id, new.id, filename="Scan.PDF",
                                            content=PDF_BYTES)
    assert attachment.original_filename == "Scan.pdf" and len(attachment.id) == 32


def test_treated_patients_is_for_practitioners(world):
    other = factories.make_patient()
    make_treating_practitioner(other)
    assert [patient.id for patient in patient_lists.treated_patients(world.users["treating"])] == [world.patient.id]
    with pytest.raises(Forbidden):
        patient_lists.treated_patients(world.users["patient"])
