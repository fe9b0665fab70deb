"""Submitting a dossier: by the applicant (offline phones send their own id), and at the
counter by an officer on behalf of a citizen (assisted submission)."""

from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.actions import account_for_phone
from agencies.models import AdministrativeUnit
from agencies.selectors import acts_for
from casework import actions as casework
from common.exceptions import InvalidInput, NotAllowed
from common.phones import normalize_phone
from services.actions.forms import validate_form_data
from services.actions.workflow import DOSSIERS
from services.models import (
    PublicService,
    ServiceRequest,
)
from services.selectors import handling_agency

Status = ServiceRequest.Status
OPEN_STATES = ServiceRequest.OPEN


def _checked_handling_agency(service: PublicService, commune: AdministrativeUnit) -> Any:
    return casework.routed_to(
        handling_agency(service, commune),
        _("This service is not yet offered in this commune."),
        code="service_not_offered",
    )


def submit_request(
    *,
    applicant,  # type: ignore[no-untyped-def]
    service: PublicService,
    commune: AdministrativeUnit,
    form_data: dict[str, Any],
    note: str = "",
    request_id: UUID | None = None,
    submitted_by=None,  # type: ignore[no-untyped-def]
) -> tuple[ServiceRequest, bool]:
    """File a dossier for `applicant`. Returns (dossier, created).

    A phone that sends the same client `id` again (offline retry) gets its dossier back.
    `submitted_by` is the officer filing it for the applicant (assisted submission); the
    applicant is then told under `service_request.assisted_submitted`, by SMS (sent after
    commit) when they have no active device to push to.
    """

    def fields() -> dict[str, Any]:
        validate_form_data(service.form_schema or {}, form_data)
        return {
            "service": service,
            "administrative_unit": commune,
            "agency": _checked_handling_agency(service, commune),
            "form_data": form_data,
            "note": note,
            "submitted_by": submitted_by,
        }

    return casework.open_case(  # type: ignore[no-any-return]
        DOSSIERS,
        owner=applicant,
        case_id=request_id,
        fields=fields,
        notify_kind=(
            "service_request.submitted"
            if submitted_by is None
            else "service_request.assisted_submitted"
        ),
        actor=submitted_by,
        note=note,
    )


def submit_assisted_request(
    *,
    officer,  # type: ignore[no-untyped-def]
    applicant_phone: str,
    applicant_name: str,
    service: PublicService,
    commune: AdministrativeUnit,
    form_data: dict[str, Any],
    note: str = "",
    request_id: UUID | None = None,
) -> tuple[ServiceRequest, bool]:
    """File a dossier for a citizen at the counter (assisted submission), as `officer`.

    The caller checked the applicant's consent. The officer must be staff in scope of the
    agency that will handle the dossier (403 otherwise). The applicant is the account of
    `applicant_phone`, created unclaimed when there is none; the dossier records both.
    """
    phone = normalize_phone(applicant_phone)
    if phone is None:
        raise InvalidInput(
            {"applicant_phone": [_("Enter a valid phone number.")]}, code="invalid_phone"
        )
    validate_form_data(service.form_schema or {}, form_data)
    agency = _checked_handling_agency(service, commune)
    if not acts_for(officer, agency.pk):
        raise NotAllowed()
    with transaction.atomic():
        applicant = account_for_phone(phone, full_name=applicant_name)
        if applicant.pk == officer.pk:
            raise InvalidInput(
                {"applicant_phone": [_("File your own dossier without assistance.")]},
                code="invalid",
            )
        return submit_request(
            applicant=applicant,
            service=service,
            commune=commune,
            form_data=form_data,
            note=note,
            request_id=request_id,
            submitted_by=officer,
        )


# -- what the supplement and assignment refer to ------------------------------------------
