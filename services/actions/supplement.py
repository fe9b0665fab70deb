"""Supplement requests: which items an officer may ask for, and the applicant's answer
(documents, corrected form fields) with the pause of the clock it ends."""

import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from agencies import calendar
from common.exceptions import InvalidInput
from services.actions.forms import form_field_exists, validate_form_data
from services.models import (
    PublicService,
    ServiceRequest,
    ServiceRequestAttachment,
)

Status = ServiceRequest.Status
OPEN_STATES = ServiceRequest.OPEN
SUPPLEMENT_ITEM_LIMIT = 20


def checked_supplement_items(
    service: PublicService, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The requested items with ids, or a 400 naming `items.N.field` for an unknown field."""
    errors: dict[str, Any] = {}
    checked = []
    for index, item in enumerate(items):
        field = item.get("field") or ""
        if item["kind"] == "field" and not form_field_exists(service.form_schema or {}, field):
            errors[str(index)] = {"field": [_("The form has no such field.")]}
        checked.append(
            {
                "id": str(uuid.uuid4()),
                "kind": item["kind"],
                "label": item["label"],
                "field": field if item["kind"] == "field" else "",
                "answer": None,
            }
        )
    if errors:
        raise InvalidInput({"items": errors})
    if not 1 <= len(checked) <= SUPPLEMENT_ITEM_LIMIT:
        raise InvalidInput({"items": [_("Request between 1 and 20 items.")]})
    return checked


def apply_supplement(
    dossier: ServiceRequest,
    responses: list[dict[str, Any]],
    form_data: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """Record the applicant's answers on the open items, the corrected form, and move the
    due date by the working days the clock stood still. Returns the event's details."""
    items = {item["id"]: item for item in dossier.supplement_items}
    by_item = {str(r["item_id"]): r for r in responses}
    unknown = [index for index, r in enumerate(responses) if str(r["item_id"]) not in items]
    if unknown:
        raise InvalidInput(
            {"responses": {str(i): {"item_id": [_("No such open item.")]} for i in unknown}}
        )
    missing = [item_id for item_id in items if item_id not in by_item]
    if missing:
        raise InvalidInput({"responses": [_("Answer every requested item.")]}, code="incomplete")
    wanted = {a for r in responses for a in r.get("attachment_ids") or []}
    fresh = set(
        ServiceRequestAttachment.objects.filter(
            request=dossier,
            pk__in=wanted,
            # A dossier put in this state by hand (admin, data fix) may lack the time.
            created_at__gte=dossier.supplement_requested_at or timezone.now(),
        )
        .exclude(kind=ServiceRequestAttachment.Kind.RESULT)
        .values_list("pk", flat=True)
    )
    errors = {
        str(index): {"attachment_ids": [_("Attach files uploaded to this dossier for it.")]}
        for index, r in enumerate(responses)
        if any(a not in fresh for a in r.get("attachment_ids") or [])
    }
    if errors:
        raise InvalidInput({"responses": errors})
    if form_data is not None:
        validate_form_data(dossier.service.form_schema or {}, form_data)
        dossier.form_data = form_data
    answered_at = now.isoformat()
    dossier.supplement_items = [
        {
            **item,
            "answer": {
                "note": by_item[item["id"]].get("note", ""),
                "attachment_ids": [str(a) for a in by_item[item["id"]].get("attachment_ids") or []],
                "answered_at": answered_at,
            },
        }
        for item in dossier.supplement_items
    ]
    paused = 0
    due_before = dossier.due_at
    if dossier.due_at is not None and dossier.supplement_requested_at is not None:
        paused = calendar.working_days_between(
            timezone.localtime(dossier.supplement_requested_at, calendar.LOCAL_TZ).date(),
            timezone.localtime(now, calendar.LOCAL_TZ).date(),
        )
        if paused > 0:
            due_day = timezone.localtime(dossier.due_at, calendar.LOCAL_TZ).date()
            dossier.due_at = datetime.combine(
                calendar.add_working_days(due_day, paused),
                calendar.CLOSING_TIME,
                tzinfo=calendar.LOCAL_TZ,
            )
    return {
        "paused_working_days": max(paused, 0),
        "form_data_changed": form_data is not None,
        # The appointment before and after the pause (the national portal's history of
        # supplements carries both).
        "due_before": due_before.isoformat() if due_before else None,
        "due_after": dossier.due_at.isoformat() if dossier.due_at else None,
    }
