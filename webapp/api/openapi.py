"""Completes every operation of the OpenAPI document with the error answers
the shared machinery can give, so no endpoint has to remember them."""

from apispec import BasePlugin

from webapp.api.auth import error_response_doc

BODY_ERRORS = (400, 413, 415, 422)


def implied_error_statuses(path: str, operation: dict) -> set[int]:
    """The errors any operation of this shape may answer, besides its own."""
    statuses = {429}
    if "requestBody" in operation:
        statuses.update(BODY_ERRORS)
    if operation.get("parameters") or "{" in path:
        statuses.add(422)
    if "{" in path:
        statuses.add(404)
    if operation.get("security"):
        statuses.add(401)
    return statuses


class OperationDocsPlugin(BasePlugin):
    """apispec plugin: adds the implied error responses to each operation."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            for status in sorted(implied_error_statuses(path or "", operation)):
                responses.setdefault(str(status), error_response_doc(status, schema="ApiError"))

