"""The spec's examples (openapi/examples.yaml, recorded from the suite with `make examples`)
are on every operation that takes or answers JSON, and each is valid against its schema."""

from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.spec import json_schema, resolved

SPEC = yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "openapi" / "schema.yaml").read_text("utf-8")
)
OPERATIONS = [
    (f"{method.upper()} {path}", operation)
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
    if isinstance(operation, dict) and "responses" in operation
]


def _json(node):
    return resolved(SPEC, node).get("content", {}).get("application/json")


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[n for n, _ in OPERATIONS])
def test_each_json_request_and_success_has_a_valid_example(name, operation):
    request = _json(operation.get("requestBody", {}))
    if request is not None:
        assert "example" in request, f"{name}: no request example"
        jsonschema.validate(request["example"], json_schema(SPEC, request["schema"]))
    successes = {
        status: _json(response)
        for status, response in operation["responses"].items()
        if status.startswith("2") and _json(response) is not None
    }
    if successes:
        examples = {status: media for status, media in successes.items() if "example" in media}
        assert examples, f"{name}: no success example"
        for media in examples.values():
            jsonschema.validate(media["example"], json_schema(SPEC, media["schema"]))
