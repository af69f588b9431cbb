"""FHIR answers: JSON with the FHIR media type."""

import json

from flask import Response

FHIR_JSON = "application/fhir+json"


def fhir_response(resource: dict, status: int = 200, *, headers=None) -> Response:
    # Compact and not ASCII-escaped: a week of slots of 25 practitioners is a large document.
    body = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, headers=headers, content_type=f"{FHIR_JSON}; charset=utf-8")
