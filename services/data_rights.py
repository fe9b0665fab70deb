"""What dossiers hold about their applicant, for the export and the closing of an account
(`accounts.data_rights`), and the end of their retention.

Dossiers rest on the agency's legal duty to handle and keep them, not on consent
(docs/privacy.md): an open dossier stops the closing of its applicant's account, and a
finished one stays with the handling agency, with the applicant's name and phone copied onto
it, for `DOSSIER_RETENTION_DAYS` after its last change. Then
`pseudonymise_retained_dossiers` clears that copy, the form, the notes and the files.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.data_rights import DataHolder, register_data_holder
from common import audit
from common.exceptions import Conflict, DomainError
from common.files import delete_stored, stored_names
from services.api.serializers import ServiceRequestAttachmentOutput
from services.models import (
    ServiceRequest,
    ServiceRequestAttachment,
    ServiceRequestEvent,
    ServiceRequestRating,
)

PSEUDONYMISE_BATCH = 200


class OpenCases(Conflict):
    default_detail = _(
        "You have dossiers still being handled; wait until they are finished or cancel them, "
        "then close your account."
    )
    default_code = "open_cases"


def export(user: Any, request: Any) -> dict[str, Any]:
    """The applicant's dossiers with their timelines (notes staff marked internal left out)
    and signed links to their files, and their ratings: four queries however many."""
    dossiers = (
        ServiceRequest.objects.filter(applicant=user)
        .select_related("service", "agency", "administrative_unit")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=ServiceRequestEvent.objects.filter(internal=False).order_by("created_at"),
            ),
            Prefetch(
                "attachments",
                queryset=ServiceRequestAttachment.objects.order_by("created_at"),
            ),
        )
        .order_by("-created_at")
    )
    context = {"request": request}
    rows = [
        {
            "id": str(dossier.pk),
            "tracking_code": dossier.tracking_code,
            "status": dossier.status,
            "service": {"code": dossier.service.code, "name": dossier.service.name},
            "agency": {"code": dossier.agency.code, "name": dossier.agency.name},
            "administrative_unit": {
                "code": dossier.administrative_unit.code,
                "name": dossier.administrative_unit.name,
            },
            "form_data": dossier.form_data,
            "note": dossier.note,
            "created_at": dossier.created_at,
            "received_at": dossier.received_at,
            "due_at": dossier.due_at,
            "events": [
                {
                    "action": event.action,
                    "from_status": event.from_status,
                    "to_status": event.to_status,
                    "note": event.note,
                    "at": event.created_at,
                }
                for event in dossier.events.all()
            ],
            "attachments": ServiceRequestAttachmentOutput(
                dossier.attachments.all(), many=True, context=context
            ).data,
        }
        for dossier in dossiers
    ]
    ratings = [
        {
            "dossier": str(rating.request_id),
            "score": rating.score,
            "comment": rating.comment,
            "created_at": rating.created_at,
        }
        for rating in ServiceRequestRating.objects.filter(author=user).order_by("created_at")
    ]
    return {"dossiers": rows, "dossier_ratings": ratings}


def refuse(user: Any) -> DomainError | None:
    """An open dossier must be finished (or cancelled) first: its agency still works on it
    and must be able to reach the applicant."""
    if ServiceRequest.objects.filter(applicant=user, status__in=ServiceRequest.OPEN).exists():
        return OpenCases()
    return None


def erase(user: Any) -> None:
    """Copy the applicant's name and phone onto their dossiers before the account is
    anonymised: the agency keeps them, and sees who filed them, for the retention period."""
    ServiceRequest.objects.filter(applicant=user, applicant_erased_at__isnull=True).update(
        applicant_name_snapshot=user.full_name,
        applicant_phone_snapshot=user.phone,
        applicant_erased_at=timezone.now(),
    )


def subjects(user: Any) -> dict[str, Any]:
    ids = ServiceRequest.objects.filter(applicant=user).values_list("pk", flat=True)
    return {ServiceRequest._meta.label_lower: list(ids)}


def register() -> None:
    register_data_holder(
        DataHolder("services", export=export, refuse=refuse, erase=erase, subjects=subjects)
    )


def pseudonymise_retained_dossiers(*, now: Any = None) -> int:
    """Dossiers of closed accounts whose retention ended (`DOSSIER_RETENTION_DAYS` after
    their last change) lose what identifies the applicant: the kept name and phone, the
    form, the notes of the dossier and its timeline, and the files. What remains (service,
    agency, commune, dates, states) keeps the statistics true. Returns how many.

    Each batch claims its rows with a conditional UPDATE, so two workers never take the
    same dossier; files are deleted after commit."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.DOSSIER_RETENTION_DAYS)
    done = 0
    while True:
        with transaction.atomic():
            due = list(
                ServiceRequest.objects.select_for_update(skip_locked=True)
                .filter(
                    applicant_erased_at__isnull=False,
                    pseudonymised_at__isnull=True,
                    status__in=ServiceRequest.FINAL,
                    updated_at__lt=cutoff,
                )
                .values_list("pk", flat=True)[:PSEUDONYMISE_BATCH]
            )
            if not due:
                return done
            stamp = timezone.now()
            claimed = ServiceRequest.objects.filter(pk__in=due, pseudonymised_at__isnull=True)
            # `updated_at` stays: the dossier did not change for its applicant or its agency.
            claimed.update(
                applicant_name_snapshot="",
                applicant_phone_snapshot="",
                form_data={},
                note="",
                supplement_items=[],
                pseudonymised_at=stamp,
            )
            ServiceRequestEvent.objects.filter(request_id__in=due).update(note="", details={})
            attachments = list(ServiceRequestAttachment.objects.filter(request_id__in=due))
            names = [name for row in attachments for name in stored_names(row)]
            ServiceRequestAttachment.objects.filter(pk__in=[row.pk for row in attachments]).delete()
            audit.record_many(
                None,
                "pseudonymise_dossier",
                list(ServiceRequest.objects.filter(pk__in=due).only("pk", "agency_id")),
                details={"retention_days": settings.DOSSIER_RETENTION_DAYS},
            )
            transaction.on_commit(partial(delete_stored, *names), robust=True)
        done += len(due)
