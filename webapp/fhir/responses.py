"""FHIR answers: JSON with the FHIR media type."""

import json

from flask import Response

FHIR_JSON = "application/fhir+json"


def encode(value: dict) -> str:
    # Compact and not ASCII-escaped: a week of slots of 25 practitioners is a large document.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def fhir_response(resource: dict | str, status: int = 200, *, headers=None) -> Response:
    """A resource, or one already encoded."""
    body = resource if isinstance(resource, str) else encode(resource)
    return Response(body, status=status, headers=headers, content_type=f"{FHIR_JSON}; charset=utf-8")
