"""Every write to dossiers: one function per transition, each in one transaction.

Checks answer in DESIGN's order: outside scope → 404 (the caller only reaches a dossier through
`requests_visible_to`), bad body → 400, actor may not → 403, wrong state → 409.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import jsonschema
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from accounts.phones import normalize_phone
from agencies import calendar
from agencies.models import AdministrativeUnit, Agency, StaffMembership
from agencies.selectors import agencies_in_scope, province_tree_root, staff_covering
from common import audit, files
from common.exceptions import Conflict, InvalidTransition, NotAllowed
from common.sync import record_removal, record_scope_loss
from common.tracking import new_tracking_code
from notifications.outbox import notify
from services.models import (
    PublicService,
    ServiceRequest,
    ServiceRequestAttachment,
    ServiceRequestEvent,
    ServiceRequestRating,
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
    "request_supplement": Transition(
        (Status.SUBMITTED, Status.RECEIVED, Status.IN_PROGRESS),
        Status.SUPPLEMENT_REQUESTED,
        STAFF,
    ),
    # The target is the state the dossier was in when the supplement was requested
    # (`status_before_supplement`), set by `transition_request`.
    "supplement": Transition((Status.SUPPLEMENT_REQUESTED,), None, APPLICANT),
    "assign": Transition(OPEN_STATES, None, STAFF),
    "forward": Transition(OPEN_STATES, None, STAFF),
    "comment": Transition(OPEN_STATES, None, STAFF),
}

# The applicant hears of every change of state under its own kind; assign, forward and
# comment keep the state and notify nobody.
NOTIFY_KINDS: dict[str, str] = {
    "receive": "service_request.received",
    "start": "service_request.in_progress",
    "request_supplement": "service_request.supplement_requested",
    # The applicant's own answer: only a plain acknowledgement of the state it returned to.
    "supplement": "service_request.status_changed",
    "approve": "service_request.result_ready",
    "return_result": "service_request.completed",
    "reject": "service_request.rejected",
    "cancel": "service_request.cancelled",
}
SUPPLEMENT_ITEM_LIMIT = 20


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
    details: dict[str, Any] | None = None,
) -> ServiceRequestEvent:
    # Every transition passes through here, so the audit entry cannot be forgotten by a new one.
    audit.record_transition(actor, action, dossier, from_status)
    return ServiceRequestEvent.objects.create(
        request=dossier,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=dossier.status,
        note=note,
        internal=internal,
        details=details or {},
    )


def record_personal_data_read(user, dossier: ServiceRequest) -> None:  # type: ignore[no-untyped-def]
    """Log that `user` opened `dossier`'s personal data (form, applicant) as staff.

    The caller has already scoped the read (`requests_visible_to`); anyone but the applicant
    reading it is staff and is logged, the applicant's own reads are not.
    """
    if dossier.applicant_id != user.pk:
        audit.record(user, "view_personal_data", dossier, agency_id=dossier.agency_id)


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


def _notify(user, dossier: ServiceRequest, kind: str, reason: str = "") -> None:  # type: ignore[no-untyped-def]
    notify(
        user,
        kind,
        _message_context(dossier, reason),
        data={
            "type": "service_request",
            "id": str(dossier.pk),
            "status": dossier.status,
            "tracking_code": dossier.tracking_code,
        },
        collapse_key=f"service_request-{dossier.pk}",
        critical=kind in CRITICAL_KINDS and user.pk == dossier.applicant_id,
    )


def _notify_applicant(dossier: ServiceRequest, kind: str, reason: str = "") -> None:
    _notify(dossier.applicant, dossier, kind, reason)


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
                    submitted_by=submitted_by,
                )
                _record(dossier, submitted_by or applicant, "submit", "", note)
                if submitted_by is None:
                    _notify_applicant(dossier, "service_request.submitted")
                else:
                    _notify_applicant(dossier, "service_request.assisted_submitted")
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
                    submitted_by=submitted_by,
                )
            continue  # a tracking-code collision: draw another code
    raise Conflict(_("Could not issue a tracking code, please retry."), code="retry")


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
        raise ValidationError(
            {"applicant_phone": [_("Enter a valid phone number.")]}, code="invalid_phone"
        )
    _validate_form_data(service.form_schema or {}, form_data)
    agency = handling_agency(service, commune)
    if agency is None:
        raise ValidationError(
            {"administrative_unit": [_("This service is not yet offered in this commune.")]},
            code="service_not_offered",
        )
    if not (officer.is_superuser or agency.pk in staff_agency_ids(officer)):
        raise NotAllowed()
    with transaction.atomic():
        applicant = _applicant_by_phone(phone, applicant_name)
        if applicant.pk == officer.pk:
            raise ValidationError(
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
    items: list[dict[str, Any]] | None = None,
    responses: list[dict[str, Any]] | None = None,
    form_data: dict[str, Any] | None = None,
    assignee: UUID | None = None,
    agency: UUID | None = None,
) -> ServiceRequest:
    """Apply one action of the dossier state table as `user`, in one transaction.

    The body's shape was validated by the caller. Under the dossier's lock this checks what
    the body refers to (form fields of supplement items, the assignee, the target agency:
    400), the actor's right (403) and the state (409), then what only the open supplement
    request defines (its answers: 400), and writes the new state, the event row and the
    applicant's notification together.
    """
    with transaction.atomic():
        dossier = _locked(dossier)
        details: dict[str, Any] = {}
        if action == "request_supplement":
            items = _checked_supplement_items(dossier.service, items or [])
        elif action == "assign":
            new_assignee = _checked_assignee(dossier, assignee)
        elif action == "forward":
            target = _checked_forward_target(dossier, agency)
        transition = _check(user, dossier, action)
        previous = dossier.status
        now = timezone.now()
        if transition.target is not None:
            dossier.status = transition.target
        if action == "receive":
            dossier.received_at = now
            dossier.due_at = calendar.due_at(now, dossier.service.processing_days)
        elif action == "request_supplement":
            dossier.status_before_supplement = previous
            dossier.supplement_requested_at = now
            dossier.supplement_items = items
            details["items"] = items
        elif action == "supplement":
            details = _apply_supplement(dossier, responses or [], form_data, now)
            dossier.status = dossier.status_before_supplement or Status.SUBMITTED
            dossier.status_before_supplement = ""
            dossier.supplement_requested_at = None
        elif action == "assign":
            dossier.assignee = new_assignee
            details["assignee"] = str(new_assignee.pk)
        elif action == "forward":
            details = {"from_agency": str(dossier.agency_id), "to_agency": str(target.pk)}
            # Staff phones that stop seeing the dossier hear of it in their next sync.
            record_scope_loss(
                "service_request",
                dossier.pk,
                staff_covering(dossier.agency),
                keep=staff_covering(target) | {dossier.applicant_id, dossier.submitted_by_id},
            )
            dossier.agency = target
            # Whoever handled it at the old agency does not work at the new one.
            dossier.assignee = None
        dossier.save()
        _record(
            dossier,
            user,
            action,
            previous,
            note,
            internal=internal and action == "comment",
            details=details,
        )
        kind = NOTIFY_KINDS.get(action)
        if kind is not None:
            _notify_applicant(dossier, kind, reason=note)
    return dossier


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
        raise ValidationError({"items": errors})
    if not 1 <= len(checked) <= SUPPLEMENT_ITEM_LIMIT:
        raise ValidationError({"items": [_("Request between 1 and 20 items.")]})
    return checked


def _checked_assignee(dossier: ServiceRequest, assignee_id: UUID | None):  # type: ignore[no-untyped-def]
    """A staff member who may act on the dossier (its agency's staff, or above it)."""
    User = get_user_model()
    candidate = (
        User.objects.filter(pk=assignee_id, is_active=True, is_staff=True).first()
        if assignee_id is not None
        else None
    )
    if candidate is None or not (
        candidate.is_superuser or dossier.agency_id in staff_agency_ids(candidate)
    ):
        raise ValidationError(
            {"assignee": [_("Assign a staff member of the handling agency or above it.")]},
            code="invalid_assignee",
        )
    return candidate


def _checked_forward_target(dossier: ServiceRequest, agency_id: UUID | None) -> Agency:
    """An active agency in the same province's tree as the dossier's agency, or above it."""
    target = (
        Agency.objects.filter(pk=agency_id, is_active=True).first()
        if agency_id is not None
        else None
    )
    current = dossier.agency
    if target is None or target.pk == current.pk:
        raise ValidationError(
            {"agency": [_("Forward to another active agency.")]}, code="invalid_agency"
        )
    # A ministry-level dossier may go anywhere below the ministry.
    tree_root = province_tree_root(current)
    upward = current.path.startswith(target.path)
    if not (upward or target.path.startswith(tree_root.path)):
        raise ValidationError(
            {"agency": [_("Forward within the province or to an agency above.")]},
            code="invalid_agency",
        )
    return target


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
        raise ValidationError(
            {"responses": {str(i): {"item_id": [_("No such open item.")]} for i in unknown}}
        )
    missing = [item_id for item_id in items if item_id not in by_item]
    if missing:
        raise ValidationError({"responses": [_("Answer every requested item.")]}, code="incomplete")
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
        raise ValidationError({"responses": errors})
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


def rate_request(
    user,  # type: ignore[no-untyped-def]
    dossier: ServiceRequest,
    *,
    score: int,
    comment: str = "",
) -> ServiceRequestRating:
    """Record the applicant's rating (1–5) of a completed dossier, once.

    Someone else → 403; not completed → 409 `invalid_transition`; rated already → 409
    `already_rated`. The dossier's lock makes two concurrent ratings wait for each other.
    """
    with transaction.atomic():
        dossier = _locked(dossier)
        if dossier.applicant_id != user.pk:
            raise NotAllowed()
        if dossier.status != Status.COMPLETED:
            raise InvalidTransition(_("Only a completed dossier can be rated."))
        if ServiceRequestRating.objects.filter(request=dossier).exists():
            raise Conflict(_("This dossier has been rated already."), code="already_rated")
        rating = ServiceRequestRating.objects.create(
            request=dossier, author=user, score=score, comment=comment
        )
        audit.record(user, "rate", dossier, agency_id=dossier.agency_id, details={"score": score})
    return rating


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
                _notify(user, dossier, kind)
                sent += 1
    return sent


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
    attachment = None
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
            attachment = files.attach_inspected(
                ServiceRequestAttachment,
                inspected,
                owner=dossier,
                owner_field="request",
                kind=kind,
                user=user,
            )
    except BaseException:
        files.delete_stored(*files.stored_names(attachment))
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
