"""Every write to dossiers: one function per transition, each in one transaction.

Checks answer in DESIGN's order: outside scope → 404 (the caller only reaches a dossier through
`requests_visible_to`), bad body → 400, actor may not → 403, wrong state → 409.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import jsonschema
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from agencies import calendar
from agencies.models import AdministrativeUnit
from agencies.selectors import agencies_in_scope
from common import audit, files
from common.exceptions import Conflict, InvalidTransition, NotAllowed
from common.sync import record_removal
from common.tracking import new_tracking_code
from notifications.outbox import notify
from services.models import (
    PublicService,
    ServiceRequest,
    ServiceRequestAttachment,
    ServiceRequestEvent,
)
from services.selectors import handling_agency

Status = ServiceRequest.Status
STAFF = "staff"
APPLICANT = "applicant"
OPEN_STATES = (
    Status.SUBMITTED,
    Status.RECEIVED,
    Status.SUPPLEMENT_REQUESTED,
    Status.IN_PROGRESS,
    Status.RESULT_READY,
)


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    target: str | None  # None: the state stays as it is (comments)
    actor: str


TRANSITIONS: dict[str, Transition] = {
    "receive": Transition((Status.SUBMITTED,), Status.RECEIVED, STAFF),
    "start": Transition((Status.RECEIVED,), Status.IN_PROGRESS, STAFF),
    "approve": Transition((Status.IN_PROGRESS,), Status.RESULT_READY, STAFF),
    "return_result": Transition((Status.RESULT_READY,), Status.COMPLETED, STAFF),
    "reject": Transition(
        (Status.SUBMITTED, Status.RECEIVED, Status.IN_PROGRESS), Status.REJECTED, STAFF
    ),
    "cancel": Transition(
        (Status.SUBMITTED, Status.SUPPLEMENT_REQUESTED), Status.CANCELLED, APPLICANT
    ),
    "comment": Transition(OPEN_STATES, None, STAFF),
}


def staff_agency_ids(user) -> set[Any]:  # type: ignore[no-untyped-def]
    """Ids of agencies the user acts for, computed once per user object."""
    cached = getattr(user, "_staff_agency_ids", None)
    if cached is None:
        cached = (
            set(agencies_in_scope(user).values_list("pk", flat=True)) if user.is_staff else set()
        )
        user._staff_agency_ids = cached
    return cached


def _may_act(user, dossier: ServiceRequest, actor: str) -> bool:  # type: ignore[no-untyped-def]
    if actor == APPLICANT:
        return dossier.applicant_id == user.pk
    return user.is_superuser or dossier.agency_id in staff_agency_ids(user)


def allowed_actions(user, dossier: ServiceRequest) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        name
        for name, t in TRANSITIONS.items()
        if dossier.status in t.sources and _may_act(user, dossier, t.actor)
    ]


def _validate_form_data(schema: dict[str, Any], form_data: Any) -> None:
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors: dict[str, Any] = {}
    for error in sorted(validator.iter_errors(form_data), key=lambda e: list(e.path)):
        path = [str(p) for p in error.path]
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [n for n in error.validator_value if n not in error.instance]
            targets = [[*path, name] for name in missing] or [path]
            message = _("This field is required.")
        else:
            targets = [path]
            message = error.message
        for target in targets:
            node = errors
            for key in target[:-1]:
                node = node.setdefault(key, {})
            if target:
                node.setdefault(target[-1], []).append(message)
            else:
                errors.setdefault("non_field_errors", []).append(message)
    if errors:
        raise ValidationError({"form_data": errors})


def _record(
    dossier: ServiceRequest,
    actor,  # type: ignore[no-untyped-def]
    action: str,
    from_status: str,
    note: str = "",
    internal: bool = False,
) -> ServiceRequestEvent:
    # Every transition passes through here, so the audit entry cannot be forgotten by a new
    # one; the note stays out of the log (it may hold personal data).
    audit.record(
        actor,
        action,
        dossier,
        agency_id=dossier.agency_id,
        details={"from_status": from_status, "to_status": dossier.status},
    )
    return ServiceRequestEvent.objects.create(
        request=dossier,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=dossier.status,
        note=note,
        internal=internal,
    )


def record_personal_data_read(user, dossier: ServiceRequest) -> None:  # type: ignore[no-untyped-def]
    """Log that `user` opened `dossier`'s personal data (form, applicant) as staff.

    The caller has already scoped the read (`requests_visible_to`); anyone but the applicant
    reading it is staff and is logged, the applicant's own reads are not.
    """
    if dossier.applicant_id != user.pk:
        audit.record(user, "view_personal_data", dossier, agency_id=dossier.agency_id)


def _notify_applicant(dossier: ServiceRequest, kind: str) -> None:
    notify(
        dossier.applicant,
        kind,
        {
            "tracking_code": dossier.tracking_code,
            "service_name": dossier.service.name,
            "agency_name": dossier.agency.name,
            "status": dossier.status,
            "due_date": timezone.localtime(dossier.due_at).strftime("%d/%m/%Y")
            if dossier.due_at
            else "",
        },
        data={
            "type": "service_request",
            "id": str(dossier.pk),
            "status": dossier.status,
            "tracking_code": dossier.tracking_code,
        },
        collapse_key=f"service_request-{dossier.pk}",
    )


def submit_request(
    *,
    applicant,  # type: ignore[no-untyped-def]
    service: PublicService,
    commune: AdministrativeUnit,
    form_data: dict[str, Any],
    note: str = "",
    request_id: UUID | None = None,
) -> tuple[ServiceRequest, bool]:
    """File a dossier for `applicant`. Returns (dossier, created).

    A phone that sends the same client `id` again (offline retry) gets its dossier back.
    """
    if request_id is not None:
        existing = ServiceRequest.objects.filter(pk=request_id).first()
        if existing is not None:
            if existing.applicant_id != applicant.pk:
                raise Conflict(_("This id is already in use."), code="id_taken")
            return existing, False
    _validate_form_data(service.form_schema or {}, form_data)
    agency = handling_agency(service, commune)
    if agency is None:
        raise ValidationError(
            {"administrative_unit": [_("This service is not yet offered in this commune.")]},
            code="service_not_offered",
        )
    for _attempt in range(5):
        try:
            with transaction.atomic():
                dossier = ServiceRequest.objects.create(
                    **({"id": request_id} if request_id else {}),
                    tracking_code=new_tracking_code("DV"),
                    service=service,
                    applicant=applicant,
                    administrative_unit=commune,
                    agency=agency,
                    form_data=form_data,
                    note=note,
                )
                _record(dossier, applicant, "submit", "", note)
                _notify_applicant(dossier, "service_request.submitted")
                return dossier, True
        except IntegrityError:
            if request_id and ServiceRequest.objects.filter(pk=request_id).exists():
                return submit_request(
                    applicant=applicant,
                    service=service,
                    commune=commune,
                    form_data=form_data,
                    note=note,
                    request_id=request_id,
                )
            continue  # a tracking-code collision: draw another code
    raise Conflict(_("Could not issue a tracking code, please retry."), code="retry")


def _locked(dossier: ServiceRequest) -> ServiceRequest:
    return (
        ServiceRequest.objects.select_for_update(of=("self",))
        .select_related("service", "agency", "applicant")
        .get(pk=dossier.pk)
    )


def _check(user, dossier: ServiceRequest, action: str) -> Transition:  # type: ignore[no-untyped-def]
    transition = TRANSITIONS[action]
    if not _may_act(user, dossier, transition.actor):
        raise NotAllowed()
    if dossier.status not in transition.sources:
        raise InvalidTransition(
            _("Cannot %(action)s a dossier that is %(status)s.")
            % {"action": action, "status": dossier.status}
        )
    return transition


def transition_request(
    user,  # type: ignore[no-untyped-def]
    dossier: ServiceRequest,
    action: str,
    *,
    note: str = "",
    internal: bool = False,
) -> ServiceRequest:
    """Apply one action of the dossier state table as `user`, in one transaction.

    The body was validated by the caller; this checks the actor's right and the state, then
    writes the new state, the event row and the applicant's notification together.
    """
    with transaction.atomic():
        dossier = _locked(dossier)
        transition = _check(user, dossier, action)
        previous = dossier.status
        now = timezone.now()
        if transition.target is not None:
            dossier.status = transition.target
        if action == "receive":
            dossier.received_at = now
            dossier.due_at = calendar.due_at(now, dossier.service.processing_days)
        dossier.save()
        _record(dossier, user, action, previous, note, internal=internal and action == "comment")
        if transition.target is not None:
            kind = (
                "service_request.received"
                if action == "receive"
                else "service_request.status_changed"
            )
            _notify_applicant(dossier, kind)
    return dossier


Kind = ServiceRequestAttachment.Kind
ATTACHMENT_LIMIT = 20
# What each kind of attachment may contain (common.files kinds).
ATTACHMENT_FILE_KINDS: dict[str, set[str]] = {
    Kind.DOCUMENT: {files.IMAGE, files.PDF},
    Kind.PHOTO: {files.IMAGE},
    Kind.AUDIO: {files.AUDIO},
    Kind.RESULT: {files.IMAGE, files.PDF},
}
# The result is prepared while the dossier is processed and may be completed once it is
# ready; the applicant adds evidence as long as the dossier is open.
RESULT_ATTACHMENT_STATES = (Status.IN_PROGRESS, Status.RESULT_READY)


def add_request_attachment(
    user,  # type: ignore[no-untyped-def]
    dossier: ServiceRequest,
    *,
    kind: str,
    upload: Any,
) -> ServiceRequestAttachment:
    """Attach an uploaded file to a dossier as `user`.

    The applicant adds documents, photos and voice notes while the dossier is open; staff in
    scope add `result` files while it is in progress or its result is ready. The file is
    inspected first (400/413), then the right (403), the state (409 `invalid_transition`) and
    the cap (409 `too_many_attachments`, counted separately for the applicant's files and the
    results, so a full dossier never blocks its result) are checked under the dossier's lock.
    Files are written only once every check has passed, and removed again if the row is not
    committed.
    """
    if kind not in Kind.values:
        raise ValidationError({"kind": [_("Unknown attachment kind.")]}, code="invalid_choice")
    inspected = files.inspect_upload(upload, ATTACHMENT_FILE_KINDS[kind])
    actor = STAFF if kind == Kind.RESULT else APPLICANT
    states = RESULT_ATTACHMENT_STATES if kind == Kind.RESULT else OPEN_STATES
    same_side = [Kind.RESULT] if kind == Kind.RESULT else [k for k in Kind if k != Kind.RESULT]
    stored: tuple[str, ...] = ()
    try:
        with transaction.atomic():
            dossier = _locked(dossier)
            if not _may_act(user, dossier, actor):
                raise NotAllowed()
            if dossier.status not in states:
                raise InvalidTransition(
                    _("Cannot attach a %(kind)s to a dossier that is %(status)s.")
                    % {"kind": kind, "status": dossier.status}
                )
            if dossier.attachments.filter(kind__in=same_side).count() >= ATTACHMENT_LIMIT:
                raise Conflict(
                    _("A dossier holds at most %(limit)s such attachments.")
                    % {"limit": ATTACHMENT_LIMIT},
                    code="too_many_attachments",
                )
            stored = files.store(inspected)
            attachment = ServiceRequestAttachment.objects.create(
                request=dossier,
                kind=kind,
                content_type=inspected.content_type,
                size=inspected.size,
                name=inspected.name,
                storage_name=stored[0],
                preview_storage_name=stored[1],
                uploaded_by=user,
            )
            # The dossier as a client sees it changed (its attachment list): sync and ETags
            # follow `updated_at`.
            dossier.save(update_fields=["updated_at"])
            audit.record(
                user,
                "attach",
                dossier,
                agency_id=dossier.agency_id,
                details={"attachment": str(attachment.pk), "kind": kind},
            )
    except BaseException:
        files.delete_stored(*stored)
        raise
    return attachment


# The `SyncRemoval.kind` under which the catalog reports withdrawn services in `removed`.
SERVICE_SYNC_KIND = "service"


def withdraw_service(service: PublicService) -> PublicService:
    """Take `service` out of the catalog; phones drop it at their next sync.

    The service stays in the database (dossiers refer to it) but is no longer listed, shown
    or accepted for new dossiers. Withdrawing a withdrawn service changes nothing.
    """
    with transaction.atomic():
        service = PublicService.objects.select_for_update().get(pk=service.pk)
        if service.is_active:
            service.is_active = False
            service.save(update_fields=["is_active", "updated_at"])
            record_removal(SERVICE_SYNC_KIND, service.code)
    return service


def offer_service(service: PublicService) -> PublicService:
    """Put a withdrawn `service` back in the catalog; phones get it at their next sync.

    Its new `updated_at`, later than the withdrawal, brings it back in `results`, and the
    sync leaves it out of `removed` while it is on offer.
    """
    with transaction.atomic():
        service = PublicService.objects.select_for_update().get(pk=service.pk)
        if not service.is_active:
            service.is_active = True
            service.save(update_fields=["is_active", "updated_at"])
    return service
