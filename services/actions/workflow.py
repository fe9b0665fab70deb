"""The state table of dossiers (`DOSSIERS`, a `casework.Workflow`) and its hooks: each
action's sources, target, actor, the input it needs; the case engine applies it in one
transaction, checking in DESIGN's order: outside scope → 404 (the caller only reaches a
dossier through `requests_visible_to`), bad body → 400, actor may not → 403, wrong state →
409. Also the rules of ratings and attachments, which the engine applies too.
"""

from typing import Any
from uuid import UUID

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agencies import calendar
from casework import access
from casework import actions as casework
from casework.engine import OWNER, STAFF, Action, Step, Workflow
from common import files
from common.exceptions import InvalidInput
from services.actions.supplement import apply_supplement, checked_supplement_items
from services.models import (
    ServiceRequest,
    ServiceRequestAttachment,
    ServiceRequestEvent,
    ServiceRequestRating,
)
from services.selectors import applicant_sees

Status = ServiceRequest.Status
OPEN_STATES = ServiceRequest.OPEN

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


def message_context(dossier: ServiceRequest, reason: str = "") -> dict[str, Any]:
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
    step.refs["items"] = checked_supplement_items(step.case.service, step.data.get("items") or [])


def _request_supplement(step: Step) -> None:
    dossier = step.case
    dossier.status_before_supplement = step.previous
    dossier.supplement_requested_at = step.now
    dossier.supplement_items = step.refs["items"]
    step.details["items"] = step.refs["items"]


def _supplement(step: Step) -> None:
    # Back to the state the dossier was in when the supplement was requested.
    dossier = step.case
    step.details = apply_supplement(
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
        takes=("form_data",),
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
    message_facts={
        "tracking_code": "Mã hồ sơ",
        "service_name": "Tên thủ tục, theo ngôn ngữ của người nhận",
        "agency_name": "Cơ quan giải quyết hồ sơ",
        "due_date": "Ngày hẹn trả kết quả",
        "reason": "Lý do hoặc nội dung cán bộ ghi",
    },
    # The due-date reminders and assisted submission.
    other_kinds=(
        "service_request.due_soon",
        "service_request.overdue",
        "service_request.assisted_submitted",
    ),
    message_context=message_context,
    critical_kinds=CRITICAL_KINDS,
    invalid_transition_message=gettext_lazy("Cannot %(action)s a dossier that is %(status)s."),
    ratings=RATINGS,
    attachments=ATTACHMENTS,
    lock_related=("service", "agency"),
    owner_sees=applicant_sees,
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
