"""Open311 in the OpenAPI document: a postprocessing hook of drf-spectacular (listed in
SPECTACULAR_SETTINGS) that merges onestop/open311/openapi.yaml, since the GeoReport views are
plain Django views the generator cannot see. tests/onestop/test_open311_spec.py holds the
views to what the file says."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

FRAGMENT = Path(__file__).with_name("openapi.yaml")


@cache
def _fragment() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(FRAGMENT.read_text(encoding="utf-8"))
    return loaded


def add_open311(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """The GeoReport paths after the API's own, and their components beside the API's; only
    in the project's document (a generator given other URL patterns draws a part of it)."""
    import copy

    if getattr(generator, "patterns", None) is not None or getattr(generator, "urlconf", None):
        return result

    fragment = copy.deepcopy(_fragment())
    result.setdefault("paths", {}).update(fragment["paths"])
    components = result.setdefault("components", {})
    for section, entries in fragment["components"].items():
        clash = set(entries) & set(components.get(section, {}))
        if clash:
            raise ValueError(f"Open311 components clash with the API's: {sorted(clash)}")
        components.setdefault(section, {}).update(entries)
    return result
