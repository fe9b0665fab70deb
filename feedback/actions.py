"""Every write to feedback. The state table lives in `FEEDBACK` (a `casework.Workflow`):
each action's sources, target, actor, the input it needs and its hooks; the case engine
applies it in one transaction, checking in DESIGN's order: outside scope → 404 (the caller
only reaches an item through `feedback.selectors`), bad body → 400, actor may not → 403,
wrong state → 409.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agencies.models import AdministrativeUnit, StaffMembership
from casework import access
from casework import actions as casework
from casework.engine import OWNER, Action, Step, Workflow
from common import files
from common.exceptions import Conflict, InvalidInput, InvalidTransition, NotAllowed, NotFound
from feedback.models import (
    Feedback,
    FeedbackAttachment,
    FeedbackCategory,
    FeedbackEvent,
    FeedbackRating,
    FeedbackSupport,
)
from feedback.selectors import handling_agency

Status = Feedback.Status
OPEN_STATES = Feedback.OPEN
REOPEN_WINDOW = timedelta(days=7)
AUTO_CLOSE_AFTER = timedelta(days=7)
# Vietnam's bounding box, mainland and islands.
LATITUDE_RANGE = (Decimal("8.1"), Decimal("23.4"))
LONGITUDE_RANGE = (Decimal("102.1"), Decimal("109.5"))
SUPPORTABLE_STATES = (Status.SUBMITTED, Status.IN_PROGRESS)
PHOTO_LIMIT = 5
AUDIO_LIMIT = 1
LOW_SCORE = 2


def _message_context(item: Feedback, reason: str = "") -> dict[str, Any]:
    return {
        "tracking_code": item.tracking_code,
        "title": item.title,
        "agency_name": item.agency.name,
        "status": item.status,
        "reason": reason,
    }


# -- the hooks of the state table ------------------------------------------------------


def _check_duplicate_of(step: Step) -> None:
    item, duplicate_id = step.case, step.data.get("duplicate_of")
    original = (
        Feedback.objects.filter(pk=duplicate_id).exclude(pk=item.pk).first()
        if duplicate_id is not None
        else None
    )
    if original is None or original.status in (Status.REJECTED, Status.WITHDRAWN):
        raise InvalidInput(
            {"duplicate_of": [_("Link to another feedback that is still valid.")]},
            code="invalid_duplicate",
        )
    step.refs["original"] = original


def _mark_duplicate(step: Step) -> None:
    original = step.refs["original"]
    step.case.duplicate_of = original
    step.details["duplicate_of"] = str(original.pk)
    # The author is pointed to the original by its code.
    step.reason = original.tracking_code


def _follow_original(step: Step) -> None:
    # A duplicate's author then supports (and so follows) the original.
    original = step.refs["original"]
    if original.author_id != step.case.author_id:
        _add_support(original, step.case.author)


def _answer(step: Step) -> None:
    step.case.answer = step.note
    step.case.answered_at = step.now


def _tell_supporters(step: Step) -> None:
    item = step.case
    for support in FeedbackSupport.objects.filter(feedback=item).select_related("user"):
        if support.user_id != item.author_id:
            FEEDBACK.notify(support.user, item, "feedback.answered", reason=step.note)


def _reopen(step: Step) -> None:
    step.case.reopened = True


def _may_reopen(item: Feedback, now: datetime) -> bool:
    # Once, and within 7 days of the answer.
    return (
        not item.reopened
        and item.answered_at is not None
        and now - item.answered_at <= REOPEN_WINDOW
    )


def _keep_on_forward(item: Feedback) -> set[Any]:
    return {item.author_id}


# The author hears of every change of state under its own kind.
TRANSITIONS: dict[str, Action] = {
    "accept": Action((Status.SUBMITTED,), Status.IN_PROGRESS, notify="feedback.accepted"),
    "reject": Action(
        (Status.SUBMITTED, Status.IN_PROGRESS),
        Status.REJECTED,
        needs=("reason",),
        notify="feedback.rejected",
    ),
    "mark_duplicate": Action(
        (Status.SUBMITTED, Status.IN_PROGRESS),
        Status.REJECTED,
        needs=("duplicate_of",),
        check=_check_duplicate_of,
        apply=_mark_duplicate,
        notify="feedback.duplicate",
        after=_follow_original,
    ),
    "answer": Action(
        (Status.IN_PROGRESS,),
        Status.ANSWERED,
        needs=("answer",),
        apply=_answer,
        notify="feedback.answered",
        after=_tell_supporters,
    ),
    "close": Action((Status.ANSWERED,), Status.CLOSED, actor=OWNER, notify="feedback.closed"),
    "reopen": Action(
        (Status.ANSWERED,),
        Status.IN_PROGRESS,
        actor=OWNER,
        needs=("reason",),
        guard=_may_reopen,
        apply=_reopen,
        notify="feedback.reopened",
    ),
    "withdraw": Action(
        (Status.SUBMITTED, Status.IN_PROGRESS),
        Status.WITHDRAWN,
        actor=OWNER,
        notify="feedback.withdrawn",
    ),
    "forward": casework.forward_action(
        OPEN_STATES, sync_kind="feedback", keep=_keep_on_forward, notify="feedback.forwarded"
    ),
    "comment": casework.comment_action(OPEN_STATES),
}
NOTIFY_KINDS: dict[str, str] = {
    name: action.notify for name, action in TRANSITIONS.items() if action.notify
}


def _flag_low_rating(user: Any, item: Feedback, rating: FeedbackRating) -> None:
    # A low score (1–2) goes to the managers of the handling agency and above.
    if rating.score <= LOW_SCORE:
        for manager in _managers_of(item):
            FEEDBACK.notify(manager, item, "feedback.low_rating", reason=str(rating.score))


ATTACHMENT_STATES = (Status.SUBMITTED, Status.IN_PROGRESS)
ATTACHMENTS = casework.AttachmentRules(
    model=FeedbackAttachment,
    case_field="feedback",
    kinds={
        FeedbackAttachment.Kind.PHOTO: casework.AttachmentKind(
            frozenset({files.IMAGE}), ATTACHMENT_STATES, PHOTO_LIMIT
        ),
        FeedbackAttachment.Kind.AUDIO: casework.AttachmentKind(
            frozenset({files.AUDIO}), ATTACHMENT_STATES, AUDIO_LIMIT
        ),
    },
    wrong_state=gettext_lazy("Files can be added only while the item is open."),
    too_many=gettext_lazy("A feedback holds at most %(limit)s files of this kind."),
)
RATINGS = casework.RatingRules(
    model=FeedbackRating,
    case_field="feedback",
    states=(Status.ANSWERED, Status.CLOSED),
    too_early=gettext_lazy("Only an answered feedback can be rated."),
    done_already=gettext_lazy("This feedback has been rated already."),
    after=_flag_low_rating,
)


FEEDBACK = Workflow(
    model=Feedback,
    event_model=FeedbackEvent,
    event_case_field="feedback",
    actions=TRANSITIONS,
    push_type="feedback",
    message_facts={
        "tracking_code": "Mã phản ánh, ví dụ PA-7K3M-9QX2-H",
        "title": "Tiêu đề phản ánh",
        "agency_name": "Cơ quan xử lý phản ánh",
        "status": "Mã trạng thái mới, ví dụ answered",
        "reason": "Lý do, nội dung trả lời hoặc mã phản ánh gốc (trùng lặp)",
    },
    # The submission, and a low rating (to the managers).
    other_kinds=("feedback.submitted", "feedback.low_rating"),
    message_context=_message_context,
    invalid_transition_message=gettext_lazy("Cannot %(action)s a feedback that is %(status)s."),
    ratings=RATINGS,
    attachments=ATTACHMENTS,
)


def allowed_actions(user, item: Feedback) -> list[str]:  # type: ignore[no-untyped-def]
    return FEEDBACK.allowed_actions(user, item)


record_personal_data_read = access.record_personal_data_read


def transition_feedback(user: Any, item: Feedback, action: str, **data: Any) -> Feedback:
    """Apply one action of the feedback state table as `user` (`casework.Workflow.apply`).

    `data` is the body as the caller validated its shape: `note`, `internal`, and `agency`
    or `duplicate_of` as the action takes them. The author is told of every change;
    supporters too when the item is answered.
    """
    return FEEDBACK.apply(user, item, action, **data)  # type: ignore[no-any-return]


def rate_feedback(user: Any, item: Feedback, *, score: int, comment: str = "") -> FeedbackRating:
    """The author's rating (1–5) of the answer, once, when answered or closed. A low score
    (1–2) is flagged to the managers of the handling agency and above."""
    return casework.rate_case(FEEDBACK, user, item, score=score, comment=comment)  # type: ignore[no-any-return]


def add_feedback_attachment(
    user: Any, item: Feedback, *, kind: str, upload: Any
) -> FeedbackAttachment:
    """Attach a photo (at most 5) or the voice note (one) to the author's open feedback
    (`ATTACHMENTS`; `casework.actions.attach_file`)."""
    return casework.attach_file(FEEDBACK, user, item, kind=kind, upload=upload)  # type: ignore[no-any-return]


# -- submission --------------------------------------------------------------------------


def check_coordinates(latitude: Decimal | None, longitude: Decimal | None) -> None:
    """Both or neither, inside Vietnam's bounding box; 400 otherwise."""
    if (latitude is None) != (longitude is None):
        raise InvalidInput(
            {"latitude": [_("Send both latitude and longitude, or neither.")]},
            code="incomplete_coordinates",
        )
    if latitude is None or longitude is None:
        return
    errors = {}
    if not LATITUDE_RANGE[0] <= latitude <= LATITUDE_RANGE[1]:
        errors["latitude"] = [_("The place must lie in Vietnam.")]
    if not LONGITUDE_RANGE[0] <= longitude <= LONGITUDE_RANGE[1]:
        errors["longitude"] = [_("The place must lie in Vietnam.")]
    if errors:
        raise InvalidInput(errors, code="outside_vietnam")


def submit_feedback(
    *,
    author,  # type: ignore[no-untyped-def]
    category: FeedbackCategory,
    commune: AdministrativeUnit,
    title: str,
    content: str,
    village: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    is_anonymous: bool = False,
    is_public: bool = False,
    client_created_at: datetime | None = None,
    feedback_id: UUID | None = None,
) -> tuple[Feedback, bool]:
    """Send a feedback as `author`, routed to the agency of its category's level for the
    commune. Returns (feedback, created); the same client `id` again returns the first."""

    def fields() -> dict[str, Any]:
        check_coordinates(latitude, longitude)
        agency = casework.routed_to(
            handling_agency(category, commune),
            _("No agency receives feedback for this commune yet."),
            code="no_agency",
        )
        return {
            "category": category,
            "administrative_unit": commune,
            "village": village,
            "latitude": latitude,
            "longitude": longitude,
            "is_anonymous": is_anonymous,
            "is_public": is_public,
            "title": title,
            "content": content,
            "agency": agency,
            "client_created_at": client_created_at,
        }

    return casework.open_case(  # type: ignore[no-any-return]
        FEEDBACK,
        owner=author,
        case_id=feedback_id,
        fields=fields,
        notify_kind="feedback.submitted",
    )


# -- supports and the automatic close ------------------------------------------------------


def _add_support(item: Feedback, user) -> bool:  # type: ignore[no-untyped-def]
    """Insert the support row and count it; False when it exists already."""
    try:
        with transaction.atomic():
            FeedbackSupport.objects.create(feedback=item, user=user)
    except IntegrityError:
        return False
    # `updated_at` moves too, so the author's phone hears of the new count in its next sync.
    Feedback.objects.filter(pk=item.pk).update(
        support_count=F("support_count") + 1, updated_at=timezone.now()
    )
    return True


def close_answered(now: datetime | None = None) -> int:
    """Close items answered more than 7 days ago and not reopened since. Returns how many.

    Each item is claimed under its lock with the condition re-checked, so a reopen or a
    second worker in between changes nothing.
    """
    now = now or timezone.now()
    due = Feedback.objects.filter(
        status=Status.ANSWERED, answered_at__lt=now - AUTO_CLOSE_AFTER
    ).values_list("pk", flat=True)
    closed = 0
    for pk in list(due):
        with transaction.atomic():
            item = (
                Feedback.objects.select_for_update(of=("self",))
                .select_related("agency", "author")
                .filter(pk=pk, status=Status.ANSWERED, answered_at__lt=now - AUTO_CLOSE_AFTER)
                .first()
            )
            if item is None:
                continue
            item.status = Status.CLOSED
            item.save(update_fields=["status", "updated_at"])
            FEEDBACK.record(item, None, "close", Status.ANSWERED, details={"automatic": True})
            FEEDBACK.notify(item.author, item, "feedback.closed")
            closed += 1
    return closed


def support_feedback(user, item: Feedback) -> None:  # type: ignore[no-untyped-def]
    """Add `user`'s "me too". Own item → 403; closed item → 409; twice → 409
    `already_supported`. The count moves with F() in the same transaction as the row."""
    if item.author_id == user.pk:
        raise NotAllowed(_("You cannot support your own feedback."))
    with transaction.atomic():
        item = FEEDBACK.lock(item)
        if item.status not in SUPPORTABLE_STATES:
            raise InvalidTransition(_("Only open feedback can be supported."))
        if not _add_support(item, user):
            raise Conflict(_("You support this feedback already."), code="already_supported")


def unsupport_feedback(user, item: Feedback) -> None:  # type: ignore[no-untyped-def]
    """Take back `user`'s support; 404 when there is none."""
    with transaction.atomic():
        deleted, _rows = FeedbackSupport.objects.filter(feedback=item, user=user).delete()
        if not deleted:
            raise NotFound(_("You do not support this feedback."))
        Feedback.objects.filter(pk=item.pk).update(
            support_count=F("support_count") - 1, updated_at=timezone.now()
        )


def _managers_of(item: Feedback) -> list[Any]:
    ancestors = item.agency.lineage_ids
    memberships = StaffMembership.objects.filter(
        agency_id__in=ancestors or [item.agency_id],
        role__in=[StaffMembership.Role.MANAGER, StaffMembership.Role.ADMIN],
        user__is_active=True,
    ).select_related("user")
    return list({m.user_id: m.user for m in memberships}.values())
