"""The CapabilityStatement: what /fhir/r4 serves, and nothing more."""

import functools

from webapp.booking.regional_slots import MAX_PRACTITIONERS, MAX_SEARCH_DAYS
from webapp.dmp.builder import FR_CORE_PRACTITIONER_PROFILE
from webapp.dmp.ins import IDNAT_PS_SYSTEM
from webapp.fhir.params import SLOT_IDENTIFIER
from webapp.fhir.resources import FR_CORE_SCHEDULE_PROFILE, FR_CORE_SLOT_PROFILE
from webapp.fhir.responses import FHIR_JSON

# The day this statement last changed (a CapabilityStatement's `date` is when it was published).
PUBLISHED = "2026-12-05"
SEARCH = [{"code": "search-type"}]


def _parameter(name: str, kind: str, documentation: str) -> dict:
    return {"name": name, "type": kind, "documentation": documentation}


@functools.cache
def capability_statement(base_url: str) -> dict:
    identifier = f"{IDNAT_PS_SYSTEM}|8<RPPS>"
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": PUBLISHED, "kind": "instance",
        "publisher": "Carnet",
        "software": {"name": "Carnet"},
        "implementation": {"description": "Carnet FHIR scheduling (read only)", "url": base_url},
        "fhirVersion": "4.0.1", "format": [FHIR_JSON, "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Readable without authentication; only verified practitioners appear, and only "
                             "those bookable online have free slots.",
            "resource": [
                {"type": "Slot", "supportedProfile": [FR_CORE_SLOT_PROFILE], "interaction": SEARCH,
                 "searchInclude": ["Slot:schedule", "Schedule:actor"],
                 "searchParam": [
                     _parameter(SLOT_IDENTIFIER, "token",
                                f"Required: {identifier}, up to {MAX_PRACTITIONERS} separated by commas."),
                     _parameter("start", "date",
                                f"Required: ge (or gt) and lt (or le) bounds, at most {MAX_SEARCH_DAYS} days "
                                "apart; dates and times without offset are the practitioner's local time."),
                     _parameter("status", "token", "free only."),
                 ]},
                {"type": "Schedule", "supportedProfile": [FR_CORE_SCHEDULE_PROFILE], "interaction": SEARCH,
                 "searchParam": [_parameter("actor", "reference",
                                            f"Required: Practitioner/{{id}}, up to {MAX_PRACTITIONERS}.")]},
                {"type": "Practitioner", "supportedProfile": [FR_CORE_PRACTITIONER_PROFILE], "interaction": SEARCH,
                 "searchParam": [_parameter("identifier", "token",
                                            f"Required: {identifier}, up to {MAX_PRACTITIONERS}.")]},
            ],
        }],
    }
