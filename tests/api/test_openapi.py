"""The generated OpenAPI document: valid, complete, with errors, security and examples.

These checks walk every route and operation, so an endpoint added later by
any feature is held to the same rules without a new test.
"""

import pytest
from openapi_spec_validator import validate

API_PREFIX = "/api/v1/"
NOT_OPERATIONS = {"/api/v1/openapi.json"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
ERROR_REF = "#/components/schemas/ApiError"


@pytest.fixture(scope="module")
def spec(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def resolve(spec, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        section = "responses" if "/responses/" in node["$ref"] else "schemas"
        node = spec["components"][section][name]
    return node


def has_example(spec, schema: dict, seen=()) -> bool:
    """An example on the schema itself, or on every part it is made of."""
    if "example" in schema or "examples" in schema:
        return True
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return True
        return has_example(spec, resolve(spec, schema), (*seen, schema["$ref"]))
    for combinator in ("oneOf", "anyOf", "allOf"):
        if combinator in schema:
            return all(has_example(spec, part, seen) for part in schema[combinator]
                       if part.get("type") != "object" or part.get("properties"))
    if schema.get("type") == "array":
        return has_example(spec, schema["items"], seen)
    properties = schema.get("properties")
    return bool(properties) and all(has_example(spec, prop, seen) for prop in properties.values())


def is_file_upload(spec, media_type: str, schema: dict) -> bool:
    """A multipart body whose every part is a file: nothing to give an example of."""
    properties = resolve(spec, schema).get("properties")
    return (media_type == "multipart/form-data" and bool(properties)
            and all(prop.get("format") == "binary" for prop in properties.values()))


def test_document_is_valid_openapi(spec):
    validate(spec)


def test_every_api_route_is_documented_with_its_methods(app, spec):
    documented = {(path, method.upper()) for path, method, _ in operations(spec)}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX) or rule.rule in NOT_OPERATIONS:
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<int:{argument}>", f"{{{argument}}}").replace(f"<{argument}>", f"{{{argument}}}")
        for method in rule.methods - IGNORED_METHODS:
            assert (path, method) in documented, f"{method} {path} is not in the OpenAPI document"


def test_every_operation_states_its_security(spec):
    for path, method, operation in operations(spec):
        assert "security" in operation, f"{method} {path}: use bearer_required(...) or public_endpoint"
        if operation["security"]:
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert "401" in operation["responses"], (method, path)
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}


def test_every_operation_documents_its_errors_with_the_shared_schema(spec):
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        errors = {status: resolve(spec, response) for status, response in responses.items()
                  if status.startswith(("4", "5"))}
        assert "429" in errors, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= set(errors), (method, path)
        if operation.get("parameters") or "{" in path:
            assert "422" in errors, (method, path)
        if "{" in path:
            assert "404" in errors, (method, path)
        for status, response in errors.items():
            media = response["content"]["application/json"]
            assert media["schema"] == {"$ref": ERROR_REF}, (method, path, status)
            assert media["example"]["error"]["code"], (method, path, status)


def test_every_operation_has_request_and_response_examples(spec):
    for path, method, operation in operations(spec):
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            if media_type == "application/json":
                assert "example" in media or has_example(spec, media["schema"]), f"{method} {path}: request example"
            else:
                assert is_file_upload(spec, media_type, media["schema"]), f"{method} {path}: {media_type} body"
        for status, response in operation["responses"].items():
            response = resolve(spec, response)
            if not status.startswith("2") or "content" not in response:
                continue
            media = response["content"]["application/json"]
            assert "example" in media or has_example(spec, media["schema"]), f"{method} {path} {status}: example"
        for parameter in operation.get("parameters", []):
            assert "example" in parameter or "example" in parameter["schema"], (method, path, parameter["name"])


def test_list_endpoint_documents_its_paging_and_sorting(spec):
    parameters = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/me/tokens"]["get"]["parameters"]}
    assert parameters["page"]["minimum"] == 1
    assert (parameters["per_page"]["minimum"], parameters["per_page"]["maximum"]) == (1, 100)
    assert "-created_at" in parameters["sort"]["enum"]


def test_idempotency_key_header_is_documented(spec):
    parameters = spec["paths"]["/api/v1/me/relatives"]["post"]["parameters"]
    header = next(p for p in parameters if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["required"] is False
    assert header["schema"]["maxLength"] == 255
    assert "409" in spec["paths"]["/api/v1/me/relatives"]["post"]["responses"]
