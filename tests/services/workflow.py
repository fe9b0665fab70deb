"""Helpers of the dossier workflow tests: dossiers built directly in a given state."""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from common.tracking import new_tracking_code
from services.models import ServiceRequest, ServiceRequestEvent
from tests.conftest import client_for

FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}
Status = ServiceRequest.Status


def make_dossier(world: dict[str, Any], applicant: Any, status: str = Status.SUBMITTED, **extra):
    """A dossier of `applicant` at the Lâm Bình office, written straight to the database."""
    now = timezone.now()
    fields: dict[str, Any] = {
        "tracking_code": new_tracking_code("DV"),
        "service": world["service"],
        "applicant": applicant,
        "administrative_unit": world["lam_binh"],
        "agency": world["lam_binh_office"],
        "form_data": FORM,
        "status": status,
    }
    if status not in (Status.SUBMITTED,):
        fields["received_at"] = now
        fields["due_at"] = now + timedelta(days=5)
    if status == Status.SUPPLEMENT_REQUESTED:
        fields["status_before_supplement"] = Status.RECEIVED
        fields["supplement_requested_at"] = now
        fields["supplement_items"] = [
            {
                "id": "0b8f0d1e-5f0a-4c55-9d6a-2b1b8d1c0a01",
                "kind": "document",
                "label": "Giấy chứng sinh",
                "field": "",
                "answer": None,
            }
        ]
    fields.update(extra)
    dossier = ServiceRequest.objects.create(**fields)
    ServiceRequestEvent.objects.create(
        request=dossier, actor=applicant, action="submit", to_status=Status.SUBMITTED
    )
    return dossier


def act(user: Any, dossier: Any, action: str, **body: Any):
    return client_for(user).post(
        f"/api/v1/requests/{dossier.pk}/transitions/", {"action": action, **body}, format="json"
    )


def error_codes(response) -> list[tuple[str, str | None]]:
    return [(e["code"], e["attr"]) for e in response.json()["errors"]]
