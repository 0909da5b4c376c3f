"""Every example in the schema is valid against the schema it illustrates, and the main
flows have one (cloudhospital.api.examples)."""

import jsonschema
import pytest

from tests import error_contract

MAIN_FLOWS = {  # (path, method): what the front end does there
    ("/api/auth/register/", "post"): "register",
    ("/api/auth/login/", "post"): "log in",
    ("/api/patients/", "post"): "add a dependant",
    ("/api/bookings/", "post"): "book",
    ("/api/prescriptions/", "post"): "prescribe",
    ("/api/prescriptions/{id}/sign/", "post"): "sign",
    ("/api/orders/", "post"): "order",
    ("/api/bookings/{id}/check-in/", "post"): "check in",
    ("/api/pharmacy/orders/{id}/accept/", "post"): "pharmacy accepts",
}
BODILESS = {("/api/bookings/{id}/check-in/", "post"), ("/api/pharmacy/orders/{id}/accept/", "post")}


def json_schema(node, components):
    """OpenAPI 3.0 schema -> JSON Schema: refs inlined, `nullable` as a null alternative."""
    if isinstance(node, list):
        return [json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return json_schema(components[node["$ref"].rsplit("/", 1)[-1]], components)
    converted = {key: json_schema(value, components) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def examples():
    schema = error_contract.schema()
    components = schema["components"]["schemas"]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            bodies = [("request", operation.get("requestBody", {}).get("content", {}))]
            bodies += [(status, response.get("content", {})) for status, response in operation["responses"].items()]
            for where, content in bodies:
                for media_type, media in content.items():
                    for name, example in (media.get("examples") or {}).items():
                        if "value" in example and "schema" in media:
                            yield (f"{method} {path} {where} {name}", json_schema(media["schema"], components), example["value"])


def test_every_example_fits_its_schema():
    checked = 0
    for label, schema, value in examples():
        try:
            jsonschema.validate(value, schema, cls=jsonschema.Draft202012Validator)
        except jsonschema.ValidationError as error:
            pytest.fail(f"{label}: {error.message} at {list(error.absolute_path)}")
        checked += 1
    assert checked > 100  # the per-code refusal examples, and the flows' own


@pytest.mark.parametrize(("path", "method"), sorted(MAIN_FLOWS))
def test_main_flows_have_request_and_response_examples(path, method):
    operation = error_contract.schema()["paths"][path][method]
    if "requestBody" in operation and (path, method) not in BODILESS:
        assert operation["requestBody"]["content"]["application/json"].get("examples"), \
            f"{MAIN_FLOWS[(path, method)]}: no request example"
    success = next(status for status in operation["responses"] if status.startswith("2"))
    assert operation["responses"][success]["content"]["application/json"].get("examples"), \
        f"{MAIN_FLOWS[(path, method)]}: no response example"
