"""FHIR test fixtures: a frozen Monday morning, open practices, validation with fhir.resources."""

import datetime as dt

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tests.booking.factories import open_practice
from webapp.dmp.ins import IDNAT_PS_SYSTEM

# Monday 11 January 2027, 08:00 in Paris: no public holiday that week.
MONDAY_MORNING = dt.datetime(2027, 1, 11, 7, 0, tzinfo=dt.UTC)
FHIR_JSON = "application/fhir+json"


@pytest.fixture
def monday(frozen_clock):
    return frozen_clock.set(MONDAY_MORNING)


def idnat_ps(practitioner) -> str:
    return f"{IDNAT_PS_SYSTEM}|8{practitioner.rpps}"


def slot_url(practitioners, start="ge2027-01-12", end="lt2027-01-13", extra="") -> str:
    identifiers = ",".join(idnat_ps(practitioner) for practitioner in practitioners)
    return (f"/fhir/r4/Slot?schedule.actor:Practitioner.identifier={identifiers}"
            f"&start={start}&start={end}&status=free{extra}")


def fhir_bundle(response) -> dict:
    """The body of a 200 searchset, checked against the FHIR model."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    body = response.get_json(force=True)
    Bundle.model_validate(body)
    assert body["type"] == "searchset"
    return body


def outcome(response, status: int) -> dict:
    """The single issue of an OperationOutcome answered with `status`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == FHIR_JSON
    body = response.get_json(force=True)
    OperationOutcome.model_validate(body)
    [issue] = body["issue"]
    return issue


def capability(response) -> dict:
    assert response.status_code == 200 and response.mimetype == FHIR_JSON
    body = response.get_json(force=True)
    CapabilityStatement.model_validate(body)
    return body


@pytest.fixture
def practice(monday):
    """A practitioner open every day 08:00-20:00 with one 30-minute reason, no notice."""
    return open_practice(reason_overrides={"label": "Consultation de médecine générale"})
