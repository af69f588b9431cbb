"""FHIR R4 resources of the scheduling API (FR Core profiles), built as plain JSON dicts.

Dicts rather than fhir.resources models: a week of slots of 25 practitioners
is thousands of Slots, and validating each one would cost more than the
whole search. The tests validate the output with fhir.resources instead.
"""

import datetime as dt
import json

from flask import request

from webapp.accounts.specialties import specialty_label
from webapp.booking.models import VisitMode
from webapp.booking.regional_slots import FreeSlot, ListedPractice
from webapp.dmp.builder import FR_CORE_PRACTITIONER_PROFILE, IDNPS_TYPE
from webapp.dmp.ins import FR_V2_0203, IDNAT_PS_RPPS_PREFIX, IDNAT_PS_SYSTEM
from webapp.fhir.responses import encode

FR_CORE = "https://hl7.fr/ig/fhir/core/StructureDefinition/"
FR_CORE_SLOT_PROFILE = FR_CORE + "fr-core-slot"
FR_CORE_SCHEDULE_PROFILE = FR_CORE + "fr-core-schedule"
# The kind of consultation, as the SAS slot profile codes it (v3 ActEncounterCode).
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONSULTATION_TYPES = {VisitMode.IN_PERSON: ("AMB", "ambulatory"), VisitMode.VIDEO: ("VR", "virtual")}
# Booked ahead, as opposed to walk-in (v2-0276).
APPOINTMENT_REASON = "http://terminology.hl7.org/CodeSystem/v2-0276"
ROUTINE = {"coding": [{"system": APPOINTMENT_REASON, "code": "ROUTINE", "display": "Routine appointment"}]}


def _meta(profile: str) -> dict:
    return {"profile": [profile]}


def base_url() -> str:
    return request.host_url + "fhir/r4/"


def practitioner_identifier(rpps: str) -> dict:
    """The IdNat_PS of a practitioner, typed IDNPS as FR Core wants it."""
    return {"use": "official", "type": {"coding": [{"system": FR_V2_0203, "code": IDNPS_TYPE}]},
            "system": IDNAT_PS_SYSTEM, "value": IDNAT_PS_RPPS_PREFIX + rpps}


def practitioner(practice: ListedPractice) -> dict:
    profile = practice.practitioner
    return {"resourceType": "Practitioner", "id": str(profile.id), "meta": _meta(FR_CORE_PRACTITIONER_PROFILE),
            "identifier": [practitioner_identifier(profile.rpps)], "active": True,
            "name": [{"use": "official", "family": profile.last_name, "given": [profile.first_name]}]}


def _reason_service(reason) -> list[dict]:
    code, display = CONSULTATION_TYPES[reason.mode]
    return [{"coding": [{"system": ACT_CODE, "code": code, "display": display}]}, {"text": reason.label}]


def schedule(practice: ListedPractice, now: dt.datetime) -> dict:
    """A practitioner's one agenda; active while they are bookable online."""
    profile, rules = practice.practitioner, practice.schedule
    return {
        "resourceType": "Schedule", "id": str(profile.id), "meta": _meta(FR_CORE_SCHEDULE_PROFILE),
        "active": practice.is_bookable,
        "serviceType": [{"text": reason.label} for reason in practice.reasons],
        "specialty": [{"text": specialty_label(profile.specialty)}],
        "actor": [{"reference": f"Practitioner/{profile.id}", "display": profile.full_name}],
        "planningHorizon": {"start": now.isoformat(timespec="seconds"),
                            "end": (now + dt.timedelta(days=rules.horizon_days)).isoformat(timespec="seconds")},
    }


def slot_entries(slots: list[FreeSlot]) -> list[str]:
    """The searchset entries of the free slots, already JSON: one Slot per free
    start and visit reason, its id naming both (stable across searches),
    `start` and `end` in the practitioner's timezone.

    Encoded by hand from parts encoded once: per reason, and per instant
    (25 practitioners share a few hundred starts in a week). For about
    1,800 Slots that is 5.5 ms of CPU instead of 24 ms for a dict per Slot
    given to `json.dumps` (B6, README)."""
    root = json.dumps(base_url())[1:-1]
    fragments: dict[int, str] = {}
    moments: dict[tuple, tuple[str, str]] = {}  # (instant, timezone) -> (its part of the id, local ISO 8601)
    entries = []
    for pid, reason, start_at, end_at, tz in slots:
        fragment = fragments.get(reason.id)
        if fragment is None:
            fragment = fragments[reason.id] = encode(
                {"meta": _meta(FR_CORE_SLOT_PROFILE), "serviceType": _reason_service(reason),
                 "appointmentType": ROUTINE})[1:-1]
        start = moments.get((start_at, tz))
        if start is None:
            start = moments[(start_at, tz)] = (f"{start_at:%Y%m%d%H%M}", start_at.astimezone(tz).isoformat())
        end = moments.get((end_at, tz))
        if end is None:
            end = moments[(end_at, tz)] = (f"{end_at:%Y%m%d%H%M}", end_at.astimezone(tz).isoformat())
        slot_id = f"{pid}-{reason.id}-{start[0]}"
        entries.append(
            f'{{"fullUrl":"{root}Slot/{slot_id}","resource":{{"resourceType":"Slot","id":"{slot_id}",{fragment},'
            f'"schedule":{{"reference":"Schedule/{pid}"}},"status":"free","start":"{start[1]}","end":"{end[1]}"}},'
            '"search":{"mode":"match"}}')
    return entries


def _entries(resources: list[dict], mode: str) -> list[dict]:
    root = base_url()
    return [{"fullUrl": f"{root}{resource['resourceType']}/{resource['id']}", "resource": resource,
             "search": {"mode": mode}} for resource in resources]


def searchset(matches: list[dict]) -> dict:
    """A searchset Bundle of resources."""
    return {"resourceType": "Bundle", "type": "searchset", "total": len(matches),
            "link": [{"relation": "self", "url": request.url}], "entry": _entries(matches, "match")}


def encoded_searchset(match_entries: list[str], included: list[dict]) -> str:
    """A searchset Bundle as JSON, from entries already encoded: `total`
    counts the matches, not the included resources."""
    head = encode({"resourceType": "Bundle", "type": "searchset", "total": len(match_entries),
                   "link": [{"relation": "self", "url": request.url}]})[:-1]
    entries = match_entries + [encode(entry) for entry in _entries(included, "include")]
    return f'{head},"entry":[{",".join(entries)}]}}'

