"""GET /fhir/r4/Slot: the free slots of up to 25 practitioners named by IdNat_PS (the SAS regional query)."""

import datetime as dt

import pytest

from tests import factories
from tests.billing.factories import make_subscription
from tests.booking.factories import make_appointment, make_visit_reason, open_practice
from tests.fhir.conftest import fhir_bundle, idnat_ps, outcome, slot_url
from webapp.billing.models import SubscriptionStatus
from webapp.booking.models import VisitMode
from webapp.booking.regional_slots import MAX_PRACTITIONERS
from webapp.extensions import db

PARIS_TUESDAY = dt.date(2027, 1, 12)


def _starts(body) -> list[str]:
    return [entry["resource"]["start"] for entry in body["entry"] if entry["resource"]["resourceType"] == "Slot"]


def test_free_slots_of_a_day_are_the_grid_minus_appointments(client, practice):
    practitioner, reason = practice
    make_appointment(practitioner, factories.make_patient(), dt.datetime(2027, 1, 12, 9, 0, tzinfo=dt.UTC),
                     reason=reason)
    body = fhir_bundle(client.get(slot_url([practitioner])))
    starts = _starts(body)
    assert body["total"] == len(starts) == 24 - 1  # 08:00-20:00 local in 30 minutes, 10:00 taken
    assert starts[0] == "2027-01-12T08:00:00+01:00" and "2027-01-12T10:00:00+01:00" not in starts
    assert starts == sorted(starts)
    slot = body["entry"][0]["resource"]
    assert slot["status"] == "free" and slot["end"] == "2027-01-12T08:30:00+01:00"
    assert slot["schedule"] == {"reference": f"Schedule/{practitioner.id}"}
    assert slot["meta"]["profile"] == ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-slot"]
    assert {"text": "Consultation de médecine générale"} in slot["serviceType"]
    assert slot["serviceType"][0]["coding"][0]["code"] == "AMB"
    assert slot["appointmentType"]["coding"][0]["code"] == "ROUTINE"
    assert body["entry"][0]["fullUrl"].endswith(f"/fhir/r4/Slot/{slot['id']}")
    assert body["entry"][0]["search"] == {"mode": "match"}


def test_each_active_reason_has_its_slots_and_a_video_one_is_virtual(client, practice):
    practitioner, _ = practice
    video = make_visit_reason(practitioner, label="Téléconsultation", duration_minutes=60, mode=VisitMode.VIDEO)
    make_visit_reason(practitioner, label="Renouvellement")  # as long as the first one
    make_visit_reason(practitioner, label="Ancien motif", archived_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    make_appointment(practitioner, factories.make_patient(), dt.datetime(2027, 1, 12, 9, 0, tzinfo=dt.UTC),
                     reason=video)  # 10:00-11:00 local
    body = fhir_bundle(client.get(slot_url([practitioner])))
    labels = [entry["resource"]["serviceType"][1]["text"] for entry in body["entry"]]
    assert labels.count("Consultation de médecine générale") == labels.count("Renouvellement") == 24 - 2
    assert labels.count("Téléconsultation") == 12 - 1
    assert "Ancien motif" not in labels
    virtual = next(entry["resource"] for entry in body["entry"] if entry["resource"]["id"].split("-")[1]
                   == str(video.id))
    assert virtual["serviceType"][0]["coding"][0]["code"] == "VR"


def test_several_practitioners_in_one_request_chronologically(client, practice):
    first, _ = practice
    second, _ = open_practice(hours=("14:00", "15:00"))
    body = fhir_bundle(client.get(slot_url([first, second])))
    schedules = {entry["resource"]["schedule"]["reference"] for entry in body["entry"]}
    assert schedules == {f"Schedule/{first.id}", f"Schedule/{second.id}"}
    assert body["total"] == 24 + 2 and _starts(body) == sorted(_starts(body))


def test_unverified_unknown_and_unbookable_practitioners_look_alike(client, practice):
    """Nothing tells a registered but hidden practitioner from a wrong guess."""
    pending, _ = open_practice(factories.make_practitioner(verification="pending"))
    rejected, _ = open_practice(factories.make_practitioner(verification="rejected"))
    suspended, _ = open_practice()
    make_subscription(suspended, status=SubscriptionStatus.SUSPENDED)
    unknown = factories.make_practitioner()  # a valid RPPS that names nobody once deleted
    unknown_url = slot_url([unknown])
    db.session.delete(unknown)
    db.session.commit()
    answers = []
    for url in (slot_url([pending]), slot_url([rejected]), slot_url([suspended]), unknown_url):
        body = fhir_bundle(client.get(url))
        body.pop("link")  # the request echoed
        answers.append(body)
    assert answers == [{"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}] * 4


def test_slots_end_at_the_horizon_and_leave_no_past(client, monday):
    practitioner, _ = open_practice(horizon_days=1)
    body = fhir_bundle(client.get(slot_url([practitioner], "ge2027-01-10", "lt2027-01-20")))
    days = {start[:10] for start in _starts(body)}
    assert days == {"2027-01-11", "2027-01-12"}  # today from 08:00 (no notice) and the one day of horizon


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("ge2027-01-12", "le2027-01-12", 24),  # le a day: through its end
    ("gt2027-01-11", "lt2027-01-13", 24),  # gt a day: from the next one
    ("ge2027-01-12T10:00:00+01:00", "lt2027-01-12T12:00:00+01:00", 4),
    ("ge2027-01-12T10:00:00 01:00", "lt2027-01-12T12:00:00 01:00", 4),  # a "+" not URL-encoded
    ("ge2027-01-12T09:00:00Z", "lt2027-01-12T11:00:00Z", 4),
    ("gt2027-01-12T10:00:00+01:00", "le2027-01-12T12:00:00+01:00", 4),  # 10:30, 11:00, 11:30, 12:00
    ("ge2027-01-12T10:00", "lt2027-01-12T12:00", 4),  # no offset: the practitioner's local time
])
def test_start_bounds_in_dates_or_instants(client, practice, start, end, expected):
    practitioner, _ = practice
    assert fhir_bundle(client.get(slot_url([practitioner], start, end)))["total"] == expected


def test_twenty_five_practitioners_at_once_and_not_twenty_six(client, monday):
    practitioners = [factories.make_practitioner() for _ in range(MAX_PRACTITIONERS + 1)]
    assert fhir_bundle(client.get(slot_url(practitioners[:MAX_PRACTITIONERS])))["total"] == 0
    issue = outcome(client.get(slot_url(practitioners)), 400)
    assert issue["code"] == "too-costly" and "25" in issue["details"]["text"]


def test_statements_are_as_many_for_one_or_twenty_five_practitioners(client, monday, count_queries):
    practitioners = []
    for _ in range(MAX_PRACTITIONERS):
        practitioner, reason = open_practice()
        make_visit_reason(practitioner, label="Suivi", duration_minutes=15)
        make_appointment(practitioner, factories.make_patient(), dt.datetime(2027, 1, 13, 9, tzinfo=dt.UTC),
                         reason=reason)
        practitioners.append(practitioner)
    counts = []
    for named in (practitioners[:1], practitioners):
        url = slot_url(named, "ge2027-01-11", "lt2027-01-18")
        with count_queries() as statements:
            body = fhir_bundle(client.get(url))
        assert body["total"] > 0
        counts.append(len(statements))
    # The practitioners with their rules and reasons, then everything that makes them busy.
    assert counts[0] == counts[1] == 2


def test_included_schedules_and_practitioners(client, practice):
    practitioner, _ = practice
    silent = factories.make_practitioner()  # no hours: no slot, so not included
    url = slot_url([practitioner, silent], extra="&_include=Slot:schedule&_include:iterate=Schedule:actor")
    body = fhir_bundle(client.get(url))
    included = [entry for entry in body["entry"] if entry["search"]["mode"] == "include"]
    assert body["total"] == 24 == len(body["entry"]) - 2
    schedule, person = (entry["resource"] for entry in included)
    assert schedule["resourceType"] == "Schedule" and schedule["id"] == str(practitioner.id)
    assert schedule["actor"][0]["reference"] == f"Practitioner/{practitioner.id}" and schedule["active"] is True
    assert person["resourceType"] == "Practitioner" and person["identifier"][0]["value"] == f"8{practitioner.rpps}"
    # Schedule:actor follows included Schedules only.
    alone = fhir_bundle(client.get(slot_url([practitioner], extra="&_include:iterate=Schedule:actor")))
    assert {entry["search"]["mode"] for entry in alone["entry"]} == {"match"}


BAD_IDENTIFIER = "schedule.actor:Practitioner.identifier"


@pytest.mark.parametrize(("query", "code"), [
    ("start=ge2027-01-12&start=lt2027-01-13", "required"),  # no practitioner
    (f"{BAD_IDENTIFIER}=urn:oid:1.2.250.1.71.4.2.2|8{{rpps}}&start=ge2027-01-12&start=lt2027-01-13", "invalid"),
    (f"{BAD_IDENTIFIER}={{rpps}}&start=ge2027-01-12&start=lt2027-01-13", "invalid"),  # no system
    (f"{BAD_IDENTIFIER}=urn:oid:1.2.250.1.71.4.2.1|{{rpps}}&start=ge2027-01-12&start=lt2027-01-13", "invalid"),
    (f"{BAD_IDENTIFIER}=urn:oid:1.2.250.1.71.4.2.1|812345678901&start=ge2027-01-12&start=lt2027-01-13",
     "invalid"),  # Luhn key wrong
    ("{ident}&start=ge2027-01-12", "required"),
    ("{ident}", "required"),
    ("{ident}&start=2027-01-12&start=lt2027-01-13", "invalid"),  # no prefix
    ("{ident}&start=ge2027-01-12&start=ge2027-01-13&start=lt2027-01-14", "invalid"),
    ("{ident}&start=ge2027-01-12&start=lt2027-01-27", "too-costly"),  # 15 days
    ("{ident}&start=ge2027-01-13&start=lt2027-01-12", "invalid"),
    ("{ident}&start=ge2027-13-01&start=lt2027-01-12", "invalid"),
    ("{ident}&start=getomorrow&start=lt2027-01-12", "invalid"),
    ("{ident}&start=ge0001-01-01&start=lt0001-01-02", "invalid"),
    ("{ident}&start=ge9999-12-30&start=le9999-12-31", "invalid"),
    ("{ident}&start=ge2027-01-12T25:00:00Z&start=lt2027-01-13", "invalid"),
    ("{ident}&start=ge2027-01-12&start=lt2027-01-13&status=busy", "not-supported"),
    ("{ident}&{ident}&start=ge2027-01-12&start=lt2027-01-13", "invalid"),
])
def test_bad_parameters_get_a_400_operation_outcome(client, practice, query, code):
    practitioner, _ = practice
    query = query.format(rpps=practitioner.rpps, ident=f"{BAD_IDENTIFIER}={idnat_ps(practitioner)}")
    issue = outcome(client.get(f"/fhir/r4/Slot?{query}"), 400)
    assert issue["code"] == code and issue["severity"] == "error" and issue["details"]["text"]


def test_unknown_parameters_are_ignored_unless_strict(client, practice):
    practitioner, _ = practice
    url = slot_url([practitioner], extra="&_sort=start")
    assert fhir_bundle(client.get(url))["total"] == 24
    issue = outcome(client.get(url, headers={"Prefer": "handling=strict"}), 400)
    assert issue["code"] == "not-supported" and "_sort" in issue["details"]["text"]


def test_errors_are_in_french_by_default_and_english_on_request(client, monday):
    french = outcome(client.get("/fhir/r4/Slot?start=ge2027-01-12"), 400)["details"]["text"]
    english = outcome(client.get("/fhir/r4/Slot?start=ge2027-01-12", headers={"Accept-Language": "en"}),
                      400)["details"]["text"]
    assert english == "The search parameter schedule.actor:Practitioner.identifier is required."
    assert french != english and "obligatoire" in french
