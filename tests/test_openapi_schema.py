"""The committed spec must match what the code generates (regenerate with `make schema`)."""

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from tests.spec import headers, parameters

SCHEMA = Path(__file__).resolve().parent.parent / "openapi" / "schema.yaml"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    target = tmp_path_factory.mktemp("schema") / "schema.yaml"
    call_command("spectacular", "--file", str(target), "--validate", "--fail-on-warn")
    return target.read_text(encoding="utf-8")


def test_committed_schema_matches_the_code(generated):
    assert SCHEMA.read_text(encoding="utf-8") == generated, (
        "openapi/schema.yaml is stale: run `make schema` and commit it"
    )


def test_every_operation_is_documented(generated):
    spec = yaml.safe_load(generated)
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    for status, code in (
        (405, "method_not_allowed"),
        (406, "not_acceptable"),
        (415, "unsupported_media_type"),
    ):
        assert f"{status} `{code}`" in spec["info"]["description"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation.get("operationId"), where
            assert operation.get("summary"), where
            assert operation.get("tags"), where
            # Answers every operation may give are described once, not on each.
            assert not {"405", "406", "415"} & set(operation["responses"]), where
            assert "500" in operation["responses"], where
            if {"jwtAuth": []} in operation.get("security", []) and {} not in operation.get(
                "security", []
            ):
                assert "401" in operation["responses"], where


def test_error_responses_use_the_one_error_shape(generated):
    spec = yaml.safe_load(generated)
    conflict = spec["paths"]["/api/v1/requests/{id}/transitions/"]["post"]["responses"]["409"]
    ref = conflict["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][ref]["properties"]) == {"type", "errors"}


def test_operations_have_meaningful_unique_names_and_described_tags(generated):
    import re

    spec = yaml.safe_load(generated)
    ids = [
        operation["operationId"]
        for item in spec["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "responses" in operation
    ]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)+", name) for name in ids), ids
    described = {tag["name"] for tag in spec["tags"] if tag.get("description")}
    used = {tag for item in spec["paths"].values() for op in item.values() for tag in op["tags"]}
    assert used <= described
    assert spec["servers"] and spec["info"]["title"].isascii()
    assert "Dịch vụ công vùng cao" in spec["info"]["description"]


def test_request_constraints_are_those_the_server_applies(generated):
    spec = yaml.safe_load(generated)
    listing = spec["paths"]["/api/v1/requests/"]["get"]
    params = parameters(spec, listing)
    assert params["page_size"]["schema"].items() >= {"minimum": 1, "maximum": 100}.items()
    assert params["lang"]["schema"]["pattern"]


def test_an_object_fields_can_trim_requires_only_its_id(generated, api, world, citizen_a):
    from tests.conftest import client_for
    from tests.services.workflow import make_dossier

    spec = yaml.safe_load(generated)
    schemas = spec["components"]["schemas"]
    make_dossier(world, citizen_a)
    trimmed = client_for(citizen_a).get("/api/v1/requests/?fields=id,status").json()

    item_schema = schemas["ServiceRequestOutput"]
    assert item_schema["required"] == ["id"]
    assert set(trimmed["results"][0]) == {"id", "status"}
    assert set(item_schema["required"]) <= set(trimmed["results"][0])


@pytest.mark.parametrize(
    ("path", "prefix", "workflow"),
    [
        ("/api/v1/requests/{id}/transitions/", "ServiceRequest", "services.actions.DOSSIERS"),
        ("/api/v1/feedback/{id}/transitions/", "Feedback", "feedback.actions.FEEDBACK"),
    ],
)
def test_each_transition_body_is_typed_by_its_action(generated, path, prefix, workflow):
    from django.utils.module_loading import import_string

    spec = yaml.safe_load(generated)
    schemas = spec["components"]["schemas"]
    body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    union = schemas[body["$ref"].rsplit("/", 1)[-1]]
    actions = import_string(workflow).actions

    assert union["discriminator"]["propertyName"] == "action"
    assert set(union["discriminator"]["mapping"]) == set(actions)
    for name, action in actions.items():
        shape = schemas[union["discriminator"]["mapping"][name].rsplit("/", 1)[-1]]
        assert set(shape["required"]) == {"action", *action.needs}, name
        assert shape["properties"]["action"]["pattern"] == f"^{name}$"


def test_headers_clients_act_on_are_declared(generated):
    spec = yaml.safe_load(generated)
    create = spec["paths"]["/api/v1/requests/"]["post"]["responses"]
    assert "Idempotent-Replayed" in headers(spec, create["201"])
    assert "Retry-After" in headers(spec, create["409"])
    assert "Retry-After" in headers(spec, create["429"])
    patch = spec["paths"]["/api/v1/uploads/{id}/"]["patch"]
    offset = parameters(spec, patch)["Upload-Offset"]
    assert offset["schema"]["format"] == "int64"
    assert headers(spec, patch["responses"]["204"])["Upload-Offset"]["schema"]["format"] == "int64"
    detail = spec["paths"]["/api/v1/services/{code}/"]["get"]["responses"]
    assert "304" in detail and "ETag" in headers(spec, detail["200"])


def test_every_response_is_described_and_no_operation_shows_machinery_docs(generated):
    spec = yaml.safe_load(generated)
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert "Negotiates" not in operation.get("description", ""), (method, path)
            for status, response in operation["responses"].items():
                assert response.get("description") or "$ref" in response, (method, path, status)


def test_the_guide_lists_every_operation_name_and_the_one_it_replaced():
    from config.openapi import OPERATIONS

    guide = (SCHEMA.parent.parent / "docs" / "app-developers.md").read_text(encoding="utf-8")
    for (method, path), (name, before) in OPERATIONS.items():
        row = f"| `{method.upper()} {path}` | {f'`{before}`' if before else '(new)'} | `{name}` |"
        assert row in guide, row


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/requests/?status=&page_size=&fields=",
        "/api/v1/administrative-units/?level=&parent=",
        "/api/v1/feedback-categories/?fields=&lang=",
    ],
)
def test_query_parameters_sent_empty_are_ignored_as_the_spec_says(generated, world, citizen_a, url):
    from urllib.parse import parse_qsl, urlsplit

    from tests.conftest import client_for

    spec = yaml.safe_load(generated)
    path, query = urlsplit(url).path, urlsplit(url).query
    described = parameters(spec, spec["paths"][path]["get"])
    for name, _value in parse_qsl(query, keep_blank_values=True):
        assert described[name].get("allowEmptyValue") is True, name
    assert client_for(citizen_a).get(url).status_code == 200
