"""Every write to dossiers. The state table lives in `DOSSIERS` (a `casework.Workflow`):
each action's sources, target, actor, the input it needs and its hooks; the case engine
applies it in one transaction, checking in DESIGN's order: outside scope → 404 (the caller
only reaches a dossier through `requests_visible_to`), bad body → 400, actor may not → 403,
wrong state → 409.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import jsonschema
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.phones import normalize_phone
from agencies import calendar
from agencies.models import AdministrativeUnit, StaffMembership
from agencies.selectors import acts_for
from casework import access
from casework import actions as casework
from casework.engine import OWNER, STAFF, Action, Step, Workflow
from common import files
from common.exceptions import InvalidInput, NotAllowed
from common.sync import record_removal
from services.models import (
    PublicService,
    ServiceRequest,
    ServiceRequestAttachment,
    ServiceRequestEvent,
    ServiceRequestRating,
)
from services.selectors import TRACKING_PREFIX, handling_agency

Status = ServiceRequest.Status
OPEN_STATES = ServiceRequest.OPEN
SUPPLEMENT_ITEM_LIMIT = 20

# Kinds the applicant must not miss: without an active device they go by SMS (after
# commit, rate limited per phone: `notifications.outbox.notify(critical=True)`). An assisted
# applicant often has no app at all; the SMS carries the tracking code.
CRITICAL_KINDS = frozenset(
    {
        "service_request.assisted_submitted",
        "service_request.supplement_requested",
        "service_request.result_ready",
    }
)


def _message_context(dossier: ServiceRequest, reason: str = "") -> dict[str, Any]:
    return {
        "tracking_code": dossier.tracking_code,
        "service_name": dossier.service.name,
        "agency_name": dossier.agency.name,
        "status": dossier.status,
        "due_date": timezone.localtime(dossier.due_at).strftime("%d/%m/%Y")
        if dossier.due_at
        else "",
        "reason": reason,
    }


# -- the hooks of the state table ------------------------------------------------------


def _receive(step: Step) -> None:
    dossier = step.case
    dossier.received_at = step.now
    dossier.due_at = calendar.due_at(step.now, dossier.service.processing_days)


def _check_supplement_items(step: Step) -> None:
    step.refs["items"] = _checked_supplement_items(step.case.service, step.data.get("items") or [])


def _request_supplement(step: Step) -> None:
    dossier = step.case
    dossier.status_before_supplement = step.previous
    dossier.supplement_requested_at = step.now
    dossier.supplement_items = step.refs["items"]
    step.details["items"] = step.refs["items"]


def _supplement(step: Step) -> None:
    # Back to the state the dossier was in when the supplement was requested.
    dossier = step.case
    step.details = _apply_supplement(
        dossier, step.data.get("responses") or [], step.data.get("form_data"), step.now
    )
    dossier.status = dossier.status_before_supplement or Status.SUBMITTED
    dossier.status_before_supplement = ""
    dossier.supplement_requested_at = None


def _check_assignee(step: Step) -> None:
    step.refs["assignee"] = _checked_assignee(step.case, step.data.get("assignee"))


def _assign(step: Step) -> None:
    step.case.assignee = step.refs["assignee"]
    step.details["assignee"] = str(step.refs["assignee"].pk)


def _unassign(step: Step) -> None:
    # Whoever handled it at the old agency does not work at the new one.
    step.case.assignee = None


def _keep_on_forward(dossier: ServiceRequest) -> set[Any]:
    return {dossier.applicant_id, dossier.submitted_by_id}


# The applicant hears of every change of state under its own kind; assign, forward and
# comment keep the state and notify nobody.
TRANSITIONS: dict[str, Action] = {
    "receive": Action(
        (Status.SUBMITTED,),
        Status.RECEIVED,
        apply=_receive,
        notify="service_request.received",
    ),
    "start": Action((Status.RECEIVED,), Status.IN_PROGRESS, notify="service_request.in_progress"),
    "approve": Action(
        (Status.IN_PROGRESS,),
        Status.RESULT_READY,
        needs=("result",),
        notify="service_request.result_ready",
    ),
    "return_result": Action(
        (Status.RESULT_READY,), Status.COMPLETED, notify="service_request.completed"
    ),
    "reject": Action(
        (Status.SUBMITTED, Status.RECEIVED, Status.IN_PROGRESS),
        Status.REJECTED,
        needs=("reason",),
        notify="service_request.rejected",
    ),
    "cancel": Action(
        (Status.SUBMITTED, Status.SUPPLEMENT_REQUESTED),
        Status.CANCELLED,
        actor=OWNER,
        notify="service_request.cancelled",
    ),
    "request_supplement": Action(
        (Status.SUBMITTED, Status.RECEIVED, Status.IN_PROGRESS),
        Status.SUPPLEMENT_REQUESTED,
        needs=("reason", "items"),
        check=_check_supplement_items,
        apply=_request_supplement,
        notify="service_request.supplement_requested",
    ),
    # The applicant's own answer: only a plain acknowledgement of the state it returned to.
    "supplement": Action(
        (Status.SUPPLEMENT_REQUESTED,),
        actor=OWNER,
        needs=("responses",),
        apply=_supplement,
        notify="service_request.status_changed",
    ),
    "assign": Action(OPEN_STATES, needs=("assignee",), check=_check_assignee, apply=_assign),
    "forward": casework.forward_action(
        OPEN_STATES, sync_kind="service_request", keep=_keep_on_forward, also=_unassign
    ),
    "comment": casework.comment_action(OPEN_STATES),
}
NOTIFY_KINDS: dict[str, str] = {
    name: action.notify for name, action in TRANSITIONS.items() if action.notify
}

Kind = ServiceRequestAttachment.Kind
ATTACHMENT_LIMIT = 20
# The applicant adds evidence while the dossier is open; the result is prepared while the
# dossier is processed and may be completed once it is ready. The cap counts the
# applicant's files and the results apart, so a full dossier never blocks its result.
_APPLICANT_KINDS = (Kind.DOCUMENT, Kind.PHOTO, Kind.AUDIO)
ATTACHMENTS = casework.AttachmentRules(
    model=ServiceRequestAttachment,
    case_field="request",
    kinds={
        Kind.DOCUMENT: casework.AttachmentKind(
            frozenset({files.IMAGE, files.PDF}),
            OPEN_STATES,
            ATTACHMENT_LIMIT,
            counted_with=_APPLICANT_KINDS,
        ),
        Kind.PHOTO: casework.AttachmentKind(
            frozenset({files.IMAGE}), OPEN_STATES, ATTACHMENT_LIMIT, counted_with=_APPLICANT_KINDS
        ),
        Kind.AUDIO: casework.AttachmentKind(
            frozenset({files.AUDIO}), OPEN_STATES, ATTACHMENT_LIMIT, counted_with=_APPLICANT_KINDS
        ),
        Kind.RESULT: casework.AttachmentKind(
            frozenset({files.IMAGE, files.PDF}),
            (Status.IN_PROGRESS, Status.RESULT_READY),
            ATTACHMENT_LIMIT,
            actor=STAFF,
        ),
    },
    wrong_state=gettext_lazy("Cannot attach a %(kind)s to a dossier that is %(status)s."),
    too_many=gettext_lazy("A dossier holds at most %(limit)s such attachments."),
)
RATINGS = casework.RatingRules(
    model=ServiceRequestRating,
    case_field="request",
    states=(Status.COMPLETED,),
    too_early=gettext_lazy("Only a completed dossier can be rated."),
    done_already=gettext_lazy("This dossier has been rated already."),
)


DOSSIERS = Workflow(
    model=ServiceRequest,
    event_model=ServiceRequestEvent,
    event_case_field="request",
    actions=TRANSITIONS,
    push_type="service_request",
    message_context=_message_context,
    critical_kinds=CRITICAL_KINDS,
    invalid_transition_message=gettext_lazy("Cannot %(action)s a dossier that is %(status)s."),
    ratings=RATINGS,
    attachments=ATTACHMENTS,
    lock_related=("service", "agency"),
)


def allowed_actions(user, dossier: ServiceRequest) -> list[str]:  # type: ignore[no-untyped-def]
    return DOSSIERS.allowed_actions(user, dossier)


record_personal_data_read = access.record_personal_data_read


def transition_request(
    user: Any, dossier: ServiceRequest, action: str, **data: Any
) -> ServiceRequest:
    """Apply one action of the dossier state table as `user` (`casework.Workflow.apply`).

    `data` is the body as the caller validated its shape: `note`, `internal`, and `items`,
    `responses`, `form_data`, `assignee` or `agency` as the action takes them. What the body
    refers to is checked first (400), then the actor's right (403) and the state (409), then
    what only the open supplement request defines (its answers: 400).
    """
    return DOSSIERS.apply(user, dossier, action, **data)  # type: ignore[no-any-return]


def rate_request(
    user, dossier: ServiceRequest, *, score: int, comment: str = ""
) -> ServiceRequestRating:  # type: ignore[no-untyped-def]
    """Record the applicant's rating (1–5) of a completed dossier, once."""
    return casework.rate_case(DOSSIERS, user, dossier, score=score, comment=comment)  # type: ignore[no-any-return]


def add_request_attachment(
    user, dossier: ServiceRequest, *, kind: str, upload: Any
) -> ServiceRequestAttachment:  # type: ignore[no-untyped-def]
    """Attach an uploaded file to a dossier as `user`: the applicant adds documents, photos
    and voice notes while the dossier is open; staff in scope add `result` files while it is
    in progress or its result is ready (`ATTACHMENTS`; `casework.actions.attach_file`)."""
    return casework.attach_file(DOSSIERS, user, dossier, kind=kind, upload=upload)  # type: ignore[no-any-return]


# -- submission --------------------------------------------------------------------------


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
        raise InvalidInput({"form_data": errors})


def _checked_handling_agency(service: PublicService, commune: AdministrativeUnit) -> Any:
    agency = handling_agency(service, commune)
    if agency is None:
        raise InvalidInput(
            {"administrative_unit": [_("This service is not yet offered in this commune.")]},
            code="service_not_offered",
        )
    return agency


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
    existing = casework.existing_case(DOSSIERS, request_id, applicant)
    if existing is not None:
        return existing, False
    _validate_form_data(service.form_schema or {}, form_data)
    agency = _checked_handling_agency(service, commune)
    return casework.open_case(  # type: ignore[no-any-return]
        DOSSIERS,
        tracking_prefix=TRACKING_PREFIX,
        owner=applicant,
        case_id=request_id,
        fields={
            "service": service,
            "administrative_unit": commune,
            "agency": agency,
            "form_data": form_data,
            "note": note,
            "submitted_by": submitted_by,
        },
        notify_kind=(
            "service_request.submitted"
            if submitted_by is None
            else "service_request.assisted_submitted"
        ),
        actor=submitted_by,
        note=note,
    )


def _applicant_by_phone(phone: str, full_name: str):  # type: ignore[no-untyped-def]
    """The account of `phone`, or a new unclaimed citizen account (no usable password)."""
    User = get_user_model()
    existing = User.objects.filter(phone=phone).first()
    if existing is not None:
        return existing
    try:
        # A savepoint: a concurrent registration of the same phone must not poison the
        # caller's transaction; the unique index decides, then we read the winner.
        with transaction.atomic():
            return User.objects.create_user(
                phone=phone, password=None, full_name=full_name, is_claimed=False
            )
    except IntegrityError:
        return User.objects.get(phone=phone)


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
    _validate_form_data(service.form_schema or {}, form_data)
    agency = _checked_handling_agency(service, commune)
    if not acts_for(officer, agency.pk):
        raise NotAllowed()
    with transaction.atomic():
        applicant = _applicant_by_phone(phone, applicant_name)
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


def _form_field_exists(schema: dict[str, Any], dotted: str) -> bool:
    node: Any = schema
    for part in dotted.split("."):
        properties = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(properties, dict) or part not in properties:
            return False
        node = properties[part]
    return True


def _checked_supplement_items(
    service: PublicService, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The requested items with ids, or a 400 naming `items.N.field` for an unknown field."""
    errors: dict[str, Any] = {}
    checked = []
    for index, item in enumerate(items):
        field = item.get("field") or ""
        if item["kind"] == "field" and not _form_field_exists(service.form_schema or {}, field):
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


def _checked_assignee(dossier: ServiceRequest, assignee_id: UUID | None):  # type: ignore[no-untyped-def]
    """A staff member who may act on the dossier (its agency's staff, or above it)."""
    User = get_user_model()
    candidate = (
        User.objects.filter(pk=assignee_id, is_active=True, is_staff=True).first()
        if assignee_id is not None
        else None
    )
    if candidate is None or not access.handles(candidate, dossier):
        raise InvalidInput(
            {"assignee": [_("Assign a staff member of the handling agency or above it.")]},
            code="invalid_assignee",
        )
    return candidate


def _apply_supplement(
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
        _validate_form_data(dossier.service.form_schema or {}, form_data)
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
    return {"paused_working_days": max(paused, 0), "form_data_changed": form_data is not None}


# Dossiers whose clock runs: a supplement request stops it, a ready result ends it.
CLOCK_RUNNING = (Status.SUBMITTED, Status.RECEIVED, Status.IN_PROGRESS)


def _due_recipients(dossier: ServiceRequest, memberships: list[StaffMembership]) -> list[Any]:
    """The assignee (or, unassigned, the agency's own staff) and the managers above it."""
    chain = dossier.agency.path
    recipients: dict[Any, Any] = {}
    if dossier.assignee is not None and dossier.assignee.is_active:
        recipients[dossier.assignee.pk] = dossier.assignee
    for membership in memberships:
        user = membership.user
        if not user.is_active:
            continue
        own_agency = membership.agency_id == dossier.agency_id
        above = membership.role != StaffMembership.Role.OFFICER and chain.startswith(
            membership.agency.path
        )
        if (own_agency and dossier.assignee is None) or above:
            recipients[user.pk] = user
    return list(recipients.values())


def notify_due_dossiers(now: datetime | None = None) -> int:
    """Tell staff about dossiers due today or tomorrow (`due_soon`) or past due (`overdue`).

    Run daily in the morning (`services.tasks.notify_due_dossiers`). Each dossier notifies
    its assignee, or its agency's staff when unassigned, and the managers and admins of the
    agencies above it. Returns the number of notifications written.
    """
    now = now or timezone.now()
    today = timezone.localtime(now, calendar.LOCAL_TZ).date()
    horizon = datetime.combine(today + timedelta(days=2), datetime.min.time(), calendar.LOCAL_TZ)
    dossiers = list(
        ServiceRequest.objects.filter(
            status__in=CLOCK_RUNNING, due_at__isnull=False, due_at__lt=horizon
        ).select_related("service", "agency", "assignee")
    )
    agency_ids = {agency_id for d in dossiers for agency_id in d.agency.lineage_ids}
    memberships = list(
        StaffMembership.objects.filter(agency_id__in=agency_ids).select_related("user", "agency")
    )
    sent = 0
    for dossier in dossiers:
        assert dossier.due_at is not None
        kind = "service_request.overdue" if dossier.due_at < now else "service_request.due_soon"
        relevant = [m for m in memberships if dossier.agency.path.startswith(m.agency.path)]
        with transaction.atomic():
            for user in _due_recipients(dossier, relevant):
                DOSSIERS.notify(user, dossier, kind)
                sent += 1
    return sent


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
