"""Fuzzing every operation of the OpenAPI document with arbitrary JSON bodies and query
strings, as a citizen and as staff: whatever comes in, no answer is a 5xx."""

import json
import uuid
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import client_for

SCHEMA = yaml.safe_load((Path(__file__).parents[1] / "openapi" / "schema.yaml").read_text())

# Text with the characters that used to break records: controls, lone surrogates, joiners.
_TEXT = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=40
) | st.sampled_from(["\ud800", "\x00", "\u200d", "Lò Văn", "0912 345 678", "2026-01-01"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | _TEXT,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "action",
                    "phone",
                    "form_data",
                    "title",
                    "otp",
                    "kind",
                    "note",
                    "service",
                    "category",
                    "score",
                    "administrative_unit",
                    "agency",
                    "refresh",
                ]
            )
            | _TEXT,
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)


# Query strings travel percent-encoded UTF-8, which has no lone surrogates.
_QUERY_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20)


def _operations():
    for path, item in SCHEMA["paths"].items():
        for method in ("get", "post", "patch", "put", "delete"):
            if method in item and "{" not in path.split("/api/v1/")[-1].split("/")[0]:
                yield method, path


OPERATIONS = sorted(_operations())


def _url(path: str) -> str:
    # Path parameters: an id that exists nowhere (404 is a fine answer) or a code.
    parts = []
    for part in path.split("/"):
        if part.startswith("{"):
            parts.append("DV-0000-0000-0" if "code" in part else str(uuid.uuid4()))
        else:
            parts.append(part)
    return "/".join(parts)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=_JSON, query=st.dictionaries(_QUERY_TEXT, _QUERY_TEXT, max_size=3))
def test_no_operation_answers_5xx(world, citizen_a, officer_commune, method, path, body, query):
    for user in (citizen_a, officer_commune):
        client = client_for(user)
        url = _url(path)
        try:
            payload = json.dumps(body, allow_nan=True)
        except (UnicodeEncodeError, ValueError):
            payload = "{}"
        if method in ("get", "delete"):
            response = getattr(client, method)(url, {k: v for k, v in query.items() if v})
        else:
            response = getattr(client, method)(url, payload, content_type="application/json")
        assert response.status_code < 500, (method, url, payload[:200], response.content[:300])
