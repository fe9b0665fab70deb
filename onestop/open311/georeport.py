"""GeoReport v2 shapes: statuses, service definitions, requests, and their JSON or XML."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree as ET  # nosec B405 — writes XML, never parses

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from feedback.models import Feedback, FeedbackCategory

Status = Feedback.Status

# GeoReport knows `open` and `closed`. An item is open while the agency still owes it
# something; answered counts as closed (the answer is in `status_notes`), as do rejected
# and withdrawn items. The full state stays in the app's API.
STATUS_MAP = {
    Status.SUBMITTED: "open",
    Status.IN_PROGRESS: "open",
    Status.ANSWERED: "closed",
    Status.CLOSED: "closed",
    Status.REJECTED: "closed",
    Status.WITHDRAWN: "closed",
}
STATES_OF = {
    "open": [state for state, shown in STATUS_MAP.items() if shown == "open"],
    "closed": [state for state, shown in STATUS_MAP.items() if shown == "closed"],
}
# `status_notes` of items without an answer.
NOTES = {
    Status.SUBMITTED: _("Received; waiting for the agency to accept it."),
    Status.IN_PROGRESS: _("Accepted; the agency is handling it."),
    Status.REJECTED: _("Not accepted by the agency."),
    Status.WITHDRAWN: _("Withdrawn by its author."),
}

# The attributes every service (feedback category) takes.
ATTRIBUTES: list[dict[str, Any]] = [
    {
        "variable": True,
        "code": "commune",
        "datatype": "number",
        "required": False,
        "datatype_description": "The commune's code in the national list of units; "
        "required unless address_id carries it.",
        "order": 1,
        "description": "Commune (xã) code",
    },
    {
        "variable": True,
        "code": "village",
        "datatype": "string",
        "required": False,
        "datatype_description": "Free text, at most 120 characters.",
        "order": 2,
        "description": "Village (thôn, bản)",
    },
    {
        "variable": True,
        "code": "anonymous",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "true: the author is never shown, not even to the agency.",
        "order": 3,
        "description": "Anonymous",
        "values": [{"key": "false", "name": "No"}, {"key": "true", "name": "Yes"}],
    },
    {
        "variable": True,
        "code": "public",
        "datatype": "singlevaluelist",
        "required": False,
        "datatype_description": "true: shown in the public feed (and to other clients) "
        "once accepted.",
        "order": 4,
        "description": "Public",
        "values": [{"key": "false", "name": "No"}, {"key": "true", "name": "Yes"}],
    },
]


def name_of(category: FeedbackCategory, language: str) -> str:
    names = category.name or {}
    return str(names.get(language) or names.get("vi") or category.code)


def service(category: FeedbackCategory, language: str) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": name_of(category, language),
        "description": name_of(category, language),
        "metadata": True,
        "type": "realtime",
        "keywords": "",
        "group": "feedback",
    }


def definition(category: FeedbackCategory) -> dict[str, Any]:
    return {"service_code": category.code, "attributes": ATTRIBUTES}


def request(item: Feedback, language: str, *, own: bool) -> dict[str, Any]:
    """One feedback as a GeoReport request. Never its author; coordinates, village and
    the text only for the client that filed it (the public feed shows the commune)."""
    commune = item.administrative_unit
    province = commune.parent if commune is not None else None
    address = ", ".join(unit.name for unit in (commune, province) if unit is not None)
    shown: dict[str, Any] = {
        "service_request_id": item.tracking_code,
        "status": STATUS_MAP.get(Status(item.status), "open"),
        "status_notes": item.answer or str(NOTES.get(Status(item.status), "")),
        "service_name": name_of(item.category, language),
        "service_code": item.category.code,
        "description": item.content,
        "agency_responsible": item.agency.name,
        "service_notice": "",
        "requested_datetime": item.created_at.isoformat(),
        "updated_datetime": item.updated_at.isoformat(),
        "expected_datetime": None,
        "address": f"{item.village}, {address}" if own and item.village else address,
        "address_id": str(commune.code) if commune is not None else "",
        "zipcode": "",
        "media_url": _media_url(item) if own else "",
    }
    if own and item.latitude is not None and item.longitude is not None:
        shown["lat"] = float(item.latitude)
        shown["long"] = float(item.longitude)
    return shown


def _media_url(item: Feedback) -> str:
    row = getattr(item, "open311", None)
    return str(row.media_url) if row is not None else ""


# -- rendering ---------------------------------------------------------------------------

# The XML element of a list's items, by the list's root.
_ITEM = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def _xml(parent: ET.Element, name: str, value: Any) -> None:
    element = ET.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, child in value.items():
            _xml(element, key, child)
    elif isinstance(value, list):
        for child in value:
            _xml(element, _ITEM.get(name, "item"), child)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def render(data: Any, fmt: str, root: str, status: int = 200) -> HttpResponse:
    """`data` as JSON, or as XML under `root` (a list's items named after it)."""
    if fmt == "xml":
        tree = ET.Element(root)
        if isinstance(data, list):
            for item in data:
                _xml(tree, _ITEM.get(root, "item"), item)
        else:
            for key, value in data.items():
                _xml(tree, key, value)
        body = ET.tostring(tree, encoding="utf-8", xml_declaration=True)
        return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")
    return HttpResponse(
        json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def errors(items: Iterable[tuple[int, Any]], fmt: str, status: int) -> HttpResponse:
    """GeoReport's error list: `[{code, description}]` (XML `<errors><error>…`)."""
    data = [{"code": code, "description": str(description)} for code, description in items]
    return render(data, fmt, "errors", status)
