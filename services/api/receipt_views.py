"""The printable receipt of a dossier (`GET requests/{id}/receipt/`).

Kept apart from `views.py` because it answers HTML, not JSON: only its errors go through
DRF's renderers, so they keep the one error shape.
"""

from datetime import datetime
from typing import Any

import segno
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.request import Request

from common.api.openapi import ErrorResponse404
from common.i18n import DEFAULT_LANGUAGE, translate
from services import actions, selectors
from services.models import ServiceRequest

RECEIPT_TEMPLATE = "services/receipt.html"
# Inline styles only, no script, no fetch: a receipt page can load nothing from anywhere.
RECEIPT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _local_date(value: datetime | None) -> str:
    # Printed for people who read dates the Vietnamese way, in the offices' own time zone.
    return timezone.localtime(value).strftime("%d/%m/%Y") if value else ""


def qr_svg(text: str) -> str:
    """An inline SVG QR code of `text` (medium error correction survives a creased paper)."""
    return segno.make(text, error="m", micro=False).svg_inline(scale=4, border=2)


def render_receipt(dossier: ServiceRequest) -> str:
    """The receipt page of `dossier`, in Vietnamese (what the office prints and files)."""
    context: dict[str, Any] = {
        "tracking_code": dossier.tracking_code,
        # segno builds the markup from the code alone; nothing typed by a user goes into it.
        "qr_svg": SafeString(qr_svg(dossier.tracking_code)),  # nosec
        "service_name": translate(dossier.service.name, DEFAULT_LANGUAGE),
        "applicant_name": dossier.applicant_display_name,
        "submitted_on": _local_date(dossier.created_at),
        "received_on": _local_date(dossier.received_at),
        "due_on": _local_date(dossier.due_at),
        "agency": dossier.agency,
    }
    return render_to_string(RECEIPT_TEMPLATE, context)


class ServiceRequestReceiptView(generics.GenericAPIView):
    """The paper a citizen takes home: tracking code, its QR code, dates and where to ask."""

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.requests_visible_to(self.request.user).select_related("applicant")

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # Browsers ask for text/html; the page itself never goes through a renderer, and
        # errors always come out as JSON in the one error shape rather than a 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Print a dossier's receipt",
        description=(
            "A printable HTML page in Vietnamese (A5, print styles, no external resources): "
            "the tracking code and an inline SVG QR code of it, the service, the applicant, "
            "the dates of submission, receipt and the promised result (dd/mm/yyyy, local "
            "time), and the handling agency's name, address, phone and opening hours. For "
            "the applicant and staff in scope; anyone else gets 404. No PDF is offered: "
            "browsers print the page to PDF."
        ),
        operation_id="requests_receipt",
        tags=["requests"],
        responses={
            (200, "text/html"): OpenApiResponse(
                OpenApiTypes.STR, description="The receipt page (UTF-8 HTML)."
            ),
            404: OpenApiResponse(ErrorResponse404, description="No such dossier in your view."),
        },
    )
    def get(self, request: Request, pk: str) -> HttpResponse:
        dossier = get_object_or_404(self.get_queryset(), pk=pk)
        # The page shows the applicant's name: a staff read of personal data.
        actions.record_personal_data_read(request.user, dossier)
        response = HttpResponse(render_receipt(dossier), content_type="text/html; charset=utf-8")
        response["Content-Language"] = DEFAULT_LANGUAGE
        response["Content-Security-Policy"] = RECEIPT_CSP
        # Personal data: neither shared caches nor the browser's disk should keep it.
        response["Cache-Control"] = "private, no-store"
        return response
