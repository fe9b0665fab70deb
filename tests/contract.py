"""Every error answer a test receives from the API is one the spec documents; and, with
`CAPTURE_EXAMPLES=1`, the suite's real requests and answers become the spec's examples.

Loaded for the whole suite (`-p tests.contract` in pyproject.toml): Django's test client is
wrapped so that a JSON error from a path under `/api/` whose status has no error component
in `openapi/schema.yaml`, whose `type` or any `code` is not in that component's enums, fails
the test that received it, where it happened. Together with the test that the committed spec
matches the code, generated clients can decode every error the suite has seen.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml
from django.test import Client
from django.test.client import FakePayload

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "schema.yaml"


@functools.cache
def documented_errors() -> dict[int, tuple[frozenset[str], frozenset[str]]]:
    """status → (types, codes) from the committed spec's `ErrorResponse<status>` components."""
    schemas = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["components"]["schemas"]
    found = {}
    for name, schema in schemas.items():
        if name.startswith("ErrorResponse") and name[len("ErrorResponse") :].isdigit():
            status = int(name[len("ErrorResponse") :])
            item = schemas[f"Error{status}"]
            found[status] = (
                frozenset(schema["properties"]["type"].get("enum", ())),
                frozenset(item["properties"]["code"].get("enum", ())),
            )
    return found


# Statuses no operation lists: the spec's introduction describes each, with its one code.
DESCRIBED_ONCE = {405: "method_not_allowed", 406: "not_acceptable", 415: "unsupported_media_type"}


@functools.cache
def introduction() -> str:
    return str(yaml.safe_load(SPEC.read_text(encoding="utf-8"))["info"]["description"])


def undocumented(path: str, status: int, body: Any) -> list[str]:
    """What in this error answer the spec does not list (empty when all of it is there)."""
    if status in DESCRIBED_ONCE:
        code = DESCRIBED_ONCE[status]
        sent = {error.get("code") for error in body.get("errors", [])}
        if sent != {code} or f"{status} `{code}`" not in introduction():
            return [f"{status} answers only `{code}`, described in the spec's introduction"]
        return []
    errors = documented_errors()
    if status not in errors:
        return [f"status {status} has no ErrorResponse{status} component"]
    types, codes = errors[status]
    problems = []
    if not isinstance(body, dict) or set(body) != {"type", "errors"}:
        return [f"the body is not in the error shape: {body!r}"]
    if body["type"] not in types:
        problems.append(f"type {body['type']!r} not in {sorted(types)}")
    for error in body["errors"]:
        if error.get("code") not in codes:
            problems.append(f"code {error.get('code')!r} not in the {status} enum")
    return problems


CAPTURE = os.environ.get("CAPTURE_EXAMPLES") == "1"
EXAMPLES = SPEC.parent / "examples.yaml"
# (method, spec path) → (request body or None, status, answer body): the first success seen.
_captured: dict[tuple[str, str], tuple[Any, int, Any]] = {}


def spec_path(path: str) -> str | None:
    """The spec's path template of a request path (`/api/v1/requests/{id}/`), or None."""
    from django.urls import Resolver404, resolve

    try:
        match = resolve(path)
    except Resolver404:
        return None
    route = re.sub(
        r"<(?:\w+:)?(\w+)>", lambda m: "{%s}" % ("id" if m[1] == "pk" else m[1]), match.route
    )
    return "/" + route


def _capture(request: dict[str, Any], response: Any) -> None:
    path = request.get("PATH_INFO", "")
    method = str(request.get("REQUEST_METHOD", "")).lower()
    if not (200 <= response.status_code < 300 and path.startswith("/api/v1/")):
        return
    answers_json = response.get("Content-Type", "").startswith("application/json")
    if response.content and not answers_json:
        return  # a file, the receipt: no JSON example to give
    template = spec_path(path)
    if template is None or (method, template) in _captured:
        return
    body = None
    raw = request.get("_captured_body", b"")
    if raw and str(request.get("CONTENT_TYPE", "")).startswith("application/json"):
        body = json.loads(raw)
    answer = json.loads(response.content) if response.content else None
    if isinstance(answer, dict) and isinstance(answer.get("results"), list):
        answer["results"] = answer["results"][:1]  # one item tells the shape
    _captured[(method, template)] = (_scrubbed(body), response.status_code, _scrubbed(answer))


_SIGNED_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


def _scrubbed(value: Any) -> Any:
    """`value` with signed tokens replaced: an example must not look like a live secret
    (and a body holding a JWT is never compressed, `common.api.compression`)."""
    if isinstance(value, str):
        return _SIGNED_TOKEN.sub("<token>", value)
    if isinstance(value, dict):
        return {key: _scrubbed(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_scrubbed(child) for child in value]
    return value


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    if not CAPTURE or not _captured:
        return
    paths = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["paths"]
    examples: dict[str, Any] = {}
    for (method, template), (body, status, answer) in sorted(_captured.items()):
        operation = paths.get(template, {}).get(method)
        if operation is None:
            continue
        entry: dict[str, Any] = {"status": status}
        if answer is not None:
            entry["response"] = answer
        if body is not None:
            entry["request"] = body
        examples[operation["operationId"]] = entry
    EXAMPLES.write_text(
        yaml.safe_dump(examples, allow_unicode=True, sort_keys=True, width=100), encoding="utf-8"
    )


_original_request = Client.request


def _checked_request(self: Client, **request: Any) -> Any:
    raw = b""
    if CAPTURE and "wsgi.input" in request:
        # Read the body once here (the view consumes it) and hand the view a fresh copy.
        raw = request["wsgi.input"].read()
        request["wsgi.input"] = FakePayload(raw)
    response = _original_request(self, **request)
    if CAPTURE:
        _capture({**request, "_captured_body": raw}, response)
    path = request.get("PATH_INFO", "")
    if (
        path.startswith("/api/")
        and response.status_code >= 400
        and response.get("Content-Type", "").startswith("application/json")
        and not getattr(response, "streaming", False)
        and response.content  # HEAD answers carry no body
    ):
        body = json.loads(response.content or b"null")
        problems = undocumented(path, response.status_code, body)
        assert not problems, (
            f"{request.get('REQUEST_METHOD')} {path} answered {response.status_code} with what "
            f"openapi/schema.yaml does not document: {problems} (add the code to "
            "common/api/error_codes.py and run `make schema`)"
        )
    return response


def pytest_configure(config: Any) -> None:
    Client.request = _checked_request  # type: ignore[method-assign]
