"""Every error answer a test receives from the API is one the spec documents.

Loaded for the whole suite (`-p tests.contract` in pyproject.toml): Django's test client is
wrapped so that a JSON error from a path under `/api/` whose status has no error component
in `openapi/schema.yaml`, whose `type` or any `code` is not in that component's enums, fails
the test that received it, where it happened. Together with the test that the committed spec
matches the code, generated clients can decode every error the suite has seen.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import yaml
from django.test import Client

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


def undocumented(path: str, status: int, body: Any) -> list[str]:
    """What in this error answer the spec does not list (empty when all of it is there)."""
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


_original_request = Client.request


def _checked_request(self: Client, **request: Any) -> Any:
    response = _original_request(self, **request)
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
