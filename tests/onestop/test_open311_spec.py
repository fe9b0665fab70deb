"""The Open311 GeoReport paths answer what openapi/schema.yaml says they do: every answer a
client can get, success or error, JSON validated against the operation's documented schema
for its status, and the refusals the spec's constraints promise."""

from __future__ import annotations

import re
from pathlib import Path
from unittest import mock
from xml.etree import ElementTree as ET

import jsonschema
import pytest
import yaml
from django.test import Client
from django.urls import resolve

from feedback.models import Feedback
from onestop.demo.feedback import OPEN311_DEMO_KEY, seed_open311_demo_client
from onestop.models import Open311Request
from tests.feedback.helpers import category
from tests.spec import json_schema, resolved

pytestmark = pytest.mark.postgres

SPEC = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "openapi" / "schema.yaml").read_text("utf-8")
)
BASE = "/open311/v2"


@pytest.fixture
def demo(world):
    category()
    return seed_open311_demo_client()


def _operation(template: str, method: str) -> dict:
    return SPEC["paths"][template][method]


def conforms(response, template: str, method: str = "get") -> object:
    """`response` is a documented status of the operation, with a documented media type,
    and its JSON body matches the documented schema. Returns the body."""
    documented = _operation(template, method)["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method} {template}: {status} is not documented"
    content = resolved(SPEC, documented[status])["content"]
    media = response["Content-Type"].split(";")[0]
    assert media in content, f"{method} {template} {status}: {media} is not documented"
    if media == "text/xml":
        return ET.fromstring(response.content)
    body = response.json()
    jsonschema.validate(body, json_schema(SPEC, content[media]["schema"]))
    return body


def create(**fields):
    body = {
        "service_code": "infrastructure",
        "address_id": "2266",
        "description": "Đèn đường bản Khuổi Củng hỏng\nTối không đi lại được.",
        **fields,
    }
    return Client().post(f"{BASE}/requests.json?api_key={OPEN311_DEMO_KEY}", body)


def test_every_open311_path_is_in_the_spec_under_its_tag_and_routes_to_a_view():
    paths = {path: item for path, item in SPEC["paths"].items() if path.startswith("/open311/")}
    assert {op["operationId"] for item in paths.values() for op in item.values()} == {
        "discoverOpen311",
        "listOpen311Services",
        "getOpen311ServiceDefinition",
        "listOpen311Requests",
        "createOpen311Request",
        "getOpen311Request",
        "getOpen311Token",
    }
    assert "open311" in {tag["name"] for tag in SPEC["tags"]}
    assert SPEC["components"]["securitySchemes"]["open311ApiKey"] == {
        "type": "apiKey",
        "in": "query",
        "name": "api_key",
        "description": mock.ANY,
    }
    for path, item in paths.items():
        for operation in item.values():
            assert operation["tags"] == ["open311"]
        concrete = re.sub(r"\{format\}", "json", path)
        concrete = re.sub(r"\{[a-z_]+\}", "x1", concrete)
        assert resolve(concrete).url_name != "open311-not-found", path


def test_each_operation_answers_as_documented(world, demo):
    created = create(lat="22.41", long="105.21", media_url="https://example.org/den.jpg")
    [answer] = conforms(created, "/open311/v2/requests.{format}", "post")
    request_id, token = answer["service_request_id"], answer["token"]
    key = {"api_key": OPEN311_DEMO_KEY}

    conforms(Client().get(f"{BASE}/discovery.json"), "/open311/v2/discovery.{format}")
    conforms(Client().get(f"{BASE}/services.json"), "/open311/v2/services.{format}")
    conforms(
        Client().get(f"{BASE}/services/infrastructure.json"),
        "/open311/v2/services/{service_code}.{format}",
    )
    listed = conforms(Client().get(f"{BASE}/requests.json", key), "/open311/v2/requests.{format}")
    assert [item["service_request_id"] for item in listed] == [request_id]
    [shown] = conforms(
        Client().get(f"{BASE}/requests/{request_id}.json", key),
        "/open311/v2/requests/{service_request_id}.{format}",
    )
    # The media link and the coordinates go back to the application that filed them only.
    assert shown["media_url"] == "https://example.org/den.jpg"
    assert (shown["lat"], shown["long"]) == (22.41, 105.21)
    conforms(Client().get(f"{BASE}/tokens/{token}.json"), "/open311/v2/tokens/{token}.{format}")
    xml = conforms(
        Client().get(f"{BASE}/requests/{request_id}.xml", key),
        "/open311/v2/requests/{service_request_id}.{format}",
    )
    assert xml.find("request/media_url").text == "https://example.org/den.jpg"

    Feedback.objects.filter(tracking_code=request_id).update(is_public=True, status="in_progress")
    [public] = Client().get(f"{BASE}/requests/{request_id}.json").json()
    assert public["media_url"] == "" and "lat" not in public


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"api_key": "not-a-key"}, 403, "api_key"),
        ({"service_code": "nope"}, 404, "service_code"),
        ({"description": "  "}, 400, "description"),
        ({"address_id": ""}, 400, "address_id"),
        ({"lat": "91", "long": "105"}, 400, "lat"),
        ({"lat": "22", "long": "-180.5"}, 400, "long"),
        ({"lat": "NaN", "long": "105"}, 400, "lat"),
        ({"lat": "22.4"}, 400, "lat"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"media_url": "https://example.org/" + "a" * 500}, 400, "media_url"),
        ({"attribute[public]": "yes"}, 400, "attribute[public]"),
        ({"attribute[anonymous]": "TRUE"}, 400, "attribute[anonymous]"),
    ],
)
def test_refusals_are_documented_georeport_errors_and_store_nothing(
    world, demo, fields, status, words
):
    query_key = fields.pop("api_key", OPEN311_DEMO_KEY)
    body = {
        "service_code": "infrastructure",
        "address_id": "2266",
        "description": "Nước sinh hoạt bị đục",
        **fields,
    }
    response = Client().post(f"{BASE}/requests.json?api_key={query_key}", body)
    assert response.status_code == status, response.content
    [error] = conforms(response, "/open311/v2/requests.{format}", "post")
    assert error["code"] == status and words in error["description"]
    assert not Feedback.objects.exists() and not Open311Request.objects.exists()


@pytest.mark.parametrize(
    "params",
    [
        {"end_date": "tomorrow"},
        {"start_date": "2026-02-30T10:00:00Z"},
        {"status": "open,"},
        {"status": " open"},
        {"status": "pending"},
    ],
)
def test_bad_filters_are_400_never_500(world, demo, params):
    response = Client().get(f"{BASE}/requests.json", params)
    assert response.status_code == 400, response.content
    conforms(response, "/open311/v2/requests.{format}")


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2000-01-01t00:00:00z", "status": ""},  # RFC 3339 allows lower case
        {"start_date": "2016-12-31T23:59:60Z"},  # a leap second
        # The first and last instants of any calendar: no overflow, no 500.
        {"start_date": "0001-01-01T00:00:00+23:59", "end_date": "9999-12-31T23:59:59-23:59"},
    ],
)
def test_every_rfc3339_date_time_is_read(world, demo, params):
    create()
    response = Client().get(f"{BASE}/requests.json", {"api_key": OPEN311_DEMO_KEY, **params})
    assert response.status_code == 200, response.content
    assert len(response.json()) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/services.yaml",
        "/requests/PA%20X.json",
        "/nowhere",
        "/requests/",
        "/tokens/ab-c.json",
        "/discovery.%2B%C3%86%0A",
    ],
)
def test_other_paths_are_georeport_404s(world, demo, path):
    response = Client().get(BASE + path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()[0]["code"] == 404


def test_rate_limit_says_when_to_retry(world, demo, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    demo.requests_per_minute = 1
    demo.save()
    Client().get(f"{BASE}/requests.json", {"api_key": OPEN311_DEMO_KEY})
    limited = Client().get(f"{BASE}/requests.json", {"api_key": OPEN311_DEMO_KEY})
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    conforms(limited, "/open311/v2/requests.{format}")


def test_a_crash_answers_georeport_500_and_keeps_nothing(world, demo):
    with mock.patch("onestop.open311.views.submit_feedback", side_effect=RuntimeError("boom")):
        response = create()
    assert response.status_code == 500
    [error] = conforms(response, "/open311/v2/requests.{format}", "post")
    assert error == {"code": 500, "description": mock.ANY}
    assert not Feedback.objects.exists()
