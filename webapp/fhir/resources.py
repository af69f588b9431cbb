"""FHIR R4 resources of the scheduling API (FR Core profiles), built as plain JSON dicts.

Dicts rather than fhir.resources models: a week of slots of 25 practitioners
is thousands of Slots, and validating each one would cost more than the
whole search. The tests validate the output with fhir.resources instead.
"""

import datetime as dt

from flask import request

from webapp.accounts.specialties import specialty_label
from webapp.booking.models import VisitMode
from webapp.booking.regional_slots import FreeSlot, ListedPractice
from webapp.dmp.builder import FR_CORE_PRACTITIONER_PROFILE, IDNPS_TYPE
from webapp.dmp.ins import FR_V2_0203, IDNAT_PS_RPPS_PREFIX, IDNAT_PS_SYSTEM

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


def slot_resources(slots: list[FreeSlot]) -> list[dict]:
    """One Slot per free start and visit reason; its id names both, so it is stable across searches."""
    services: dict[int, list[dict]] = {}
    meta = _meta(FR_CORE_SLOT_PROFILE)
    resources = []
    for slot in slots:
        reason = slot.reason
        if reason.id not in services:
            services[reason.id] = _reason_service(reason)
        start = slot.start_at.isoformat()
        resources.append({
            "resourceType": "Slot",
            "id": f"{slot.practitioner_id}-{reason.id}-{slot.start_at.astimezone(dt.UTC):%Y%m%d%H%M}",
            "meta": meta, "serviceType": services[reason.id], "appointmentType": ROUTINE,
            "schedule": {"reference": f"Schedule/{slot.practitioner_id}"}, "status": "free",
            "start": start, "end": slot.end_at.isoformat(),
        })
    return resources


def searchset(matches: list[dict], included: list[dict] = ()) -> dict:
    """A searchset Bundle: `total` counts the matches, not the included resources."""
    root = base_url()
    entries = [{"fullUrl": f"{root}{resource['resourceType']}/{resource['id']}", "resource": resource,
                "search": {"mode": mode}}
               for resources, mode in ((matches, "match"), (included, "include")) for resource in resources]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(matches),
            "link": [{"relation": "self", "url": request.url}], "entry": entries}
