"""FHIR R4 scheduling endpoints: parse the search, call one booking service, answer a Bundle."""

from flask import request

from webapp.booking.regional_slots import listed_practices, regional_free_slots
from webapp.db import now_utc
from webapp.fhir import bp, params, resources
from webapp.fhir.capability import capability_statement
from webapp.fhir.responses import fhir_response


@bp.get("/metadata")
def metadata():
    return fhir_response(capability_statement(resources.base_url()))


@bp.get("/Slot")
def search_slots():
    """Free slots of up to 25 practitioners named by IdNat_PS (the SAS regional query)."""
    query = params.slot_query(request.args)
    now = now_utc()
    practices, slots = regional_free_slots(query.rpps, query.start_from, query.start_before, now=now)
    included = [resources.schedule(practice, now) for practice in practices] if query.include_schedules else []
    if query.include_practitioners:
        included += [resources.practitioner(practice) for practice in practices]
    return fhir_response(resources.encoded_searchset(resources.slot_entries(slots), included))


@bp.get("/Schedule")
def search_schedules():
    practices = listed_practices(practitioner_ids=params.schedule_actors(request.args))
    now = now_utc()
    return fhir_response(resources.searchset([resources.schedule(practice, now) for practice in practices]))


@bp.get("/Practitioner")
def search_practitioners():
    practices = listed_practices(rpps=params.practitioner_identifiers(request.args))
    return fhir_response(resources.searchset([resources.practitioner(practice) for practice in practices]))
