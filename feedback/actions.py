"""Every write to feedback: one function per transition, each in one transaction.

Checks answer in DESIGN's order: outside scope → 404 (the caller only reaches an item through
`feedback.selectors`), bad body → 400, actor may not → 403, wrong state → 409.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError

from agencies.models import AdministrativeUnit, Agency, StaffMembership
from agencies.selectors import agencies_in_scope, staff_covering
from common import audit, files
from common.exceptions import Conflict, InvalidTransition, NotAllowed
from common.sync import record_scope_loss
from common.tracking import new_tracking_code
from feedback.models import (
    Feedback,
    FeedbackAttachment,
    FeedbackCategory,
    FeedbackEvent,
    FeedbackRating,
    FeedbackSupport,
)
from feedback.selectors import TRACKING_PREFIX, handling_agency
from notifications.outbox import notify

Status = Feedback.Status
STAFF = "staff"
AUTHOR = "author"
OPEN_STATES = Feedback.OPEN
REOPEN_WINDOW = timedelta(days=7)
AUTO_CLOSE_AFTER = timedelta(days=7)
# Vietnam's bounding box, mainland and islands.
LATITUDE_RANGE = (Decimal("8.1"), Decimal("23.4"))
LONGITUDE_RANGE = (Decimal("102.1"), Decimal("109.5"))


@dataclass(frozen=True)
class Transition:
    sources: tuple[str, ...]
    target: str | None  # None: the state stays as it is (forward, comment)
    actor: str


TRANSITIONS: dict[str, Transition] = {
    "accept": Transition((Status.SUBMITTED,), Status.IN_PROGRESS, STAFF),
    "reject": Transition((Status.SUBMITTED, Status.IN_PROGRESS), Status.REJECTED, STAFF),
    "mark_duplicate": Transition((Status.SUBMITTED, Status.IN_PROGRESS), Status.REJECTED, STAFF),
    "answer": Transition((Status.IN_PROGRESS,), Status.ANSWERED, STAFF),
    "close": Transition((Status.ANSWERED,), Status.CLOSED, AUTHOR),
    "reopen": Transition((Status.ANSWERED,), Status.IN_PROGRESS, AUTHOR),
    "withdraw": Transition((Status.SUBMITTED, Status.IN_PROGRESS), Status.WITHDRAWN, AUTHOR),
    "forward": Transition(OPEN_STATES, None, STAFF),
    "comment": Transition(OPEN_STATES, None, STAFF),
}

# The author hears of every change of state under its own kind.
NOTIFY_KINDS: dict[str, str] = {
    "accept": "feedback.accepted",
    "reject": "feedback.rejected",
    "mark_duplicate": "feedback.duplicate",
    "answer": "feedback.answered",
    "close": "feedback.closed",
    "reopen": "feedback.reopened",
    "withdraw": "feedback.withdrawn",
    "forward": "feedback.forwarded",
}
SUPPORTABLE_STATES = (Status.SUBMITTED, Status.IN_PROGRESS)
RATABLE_STATES = (Status.ANSWERED, Status.CLOSED)
PHOTO_LIMIT = 5
AUDIO_LIMIT = 1
ATTACHMENT_FILE_KINDS: dict[str, set[str]] = {
    FeedbackAttachment.Kind.PHOTO: {files.IMAGE},
    FeedbackAttachment.Kind.AUDIO: {files.AUDIO},
}
ATTACHMENT_LIMITS: dict[str, int] = {
    FeedbackAttachment.Kind.PHOTO: PHOTO_LIMIT,
    FeedbackAttachment.Kind.AUDIO: AUDIO_LIMIT,
}
ATTACHMENT_STATES = (Status.SUBMITTED, Status.IN_PROGRESS)
LOW_SCORE = 2


def staff_agency_ids(user) -> set[Any]:  # type: ignore[no-untyped-def]
    """Ids of agencies the user acts for, computed once per user object."""
    cached = getattr(user, "_feedback_agency_ids", None)
    if cached is None:
        cached = (
            set(agencies_in_scope(user).values_list("pk", flat=True)) if user.is_staff else set()
        )
        user._feedback_agency_ids = cached
    return cached


def is_handler(user, item: Feedback) -> bool:  # type: ignore[no-untyped-def]
    return bool(user.is_superuser or item.agency_id in staff_agency_ids(user))


def _may_act(user, item: Feedback, actor: str) -> bool:  # type: ignore[no-untyped-def]
    if actor == AUTHOR:
        return bool(item.author_id == user.pk)
    return is_handler(user, item)


def _state_allows(item: Feedback, action: str, now: datetime | None = None) -> bool:
    if item.status not in TRANSITIONS[action].sources:
        return False
    if action == "reopen":
        now = now or timezone.now()
        return (
            not item.reopened
            and item.answered_at is not None
            and now - item.answered_at <= REOPEN_WINDOW
        )
    return True


def allowed_actions(user, item: Feedback) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        name
        for name, t in TRANSITIONS.items()
        if _state_allows(item, name) and _may_act(user, item, t.actor)
    ]


def _record(
    item: Feedback,
    actor,  # type: ignore[no-untyped-def]
    action: str,
    from_status: str,
    note: str = "",
    internal: bool = False,
    details: dict[str, Any] | None = None,
) -> FeedbackEvent:
    audit.record_transition(actor, action, item, from_status)
    return FeedbackEvent.objects.create(
        feedback=item,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=item.status,
        note=note,
        internal=internal,
        details=details or {},
    )


def record_personal_data_read(user, item: Feedback) -> None:  # type: ignore[no-untyped-def]
    """Log that staff opened `item` (its content may hold personal data); the author's own
    reads are not logged. The caller has already scoped the read."""
    if item.author_id != user.pk:
        audit.record(user, "view_personal_data", item, agency_id=item.agency_id)


def _notify(user, item: Feedback, kind: str, reason: str = "") -> None:  # type: ignore[no-untyped-def]
    notify(
        user,
        kind,
        {
            "tracking_code": item.tracking_code,
            "title": item.title,
            "agency_name": item.agency.name,
            "status": item.status,
            "reason": reason,
        },
        data={
            "type": "feedback",
            "id": str(item.pk),
            "status": item.status,
            "tracking_code": item.tracking_code,
        },
        collapse_key=f"feedback-{item.pk}",
    )


def check_coordinates(latitude: Decimal | None, longitude: Decimal | None) -> None:
    """Both or neither, inside Vietnam's bounding box; 400 otherwise."""
    if (latitude is None) != (longitude is None):
        raise ValidationError(
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
        raise ValidationError(errors, code="outside_vietnam")


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
    if feedback_id is not None:
        existing = Feedback.objects.filter(pk=feedback_id).first()
        if existing is not None:
            if existing.author_id != author.pk:
                raise Conflict(_("This id is already in use."), code="id_taken")
            return existing, False
    check_coordinates(latitude, longitude)
    agency = handling_agency(category, commune)
    if agency is None:
        raise ValidationError(
            {"administrative_unit": [_("No agency receives feedback for this commune yet.")]},
            code="no_agency",
        )
    for _attempt in range(5):
        try:
            with transaction.atomic():
                item = Feedback.objects.create(
                    **({"id": feedback_id} if feedback_id else {}),
                    tracking_code=new_tracking_code(TRACKING_PREFIX),
                    author=author,
                    category=category,
                    administrative_unit=commune,
                    village=village,
                    latitude=latitude,
                    longitude=longitude,
                    is_anonymous=is_anonymous,
                    is_public=is_public,
                    title=title,
                    content=content,
                    agency=agency,
                    client_created_at=client_created_at,
                )
                _record(item, author, "submit", "")
                _notify(author, item, "feedback.submitted")
                return item, True
        except IntegrityError:
            if feedback_id and Feedback.objects.filter(pk=feedback_id).exists():
                return submit_feedback(
                    author=author,
                    category=category,
                    commune=commune,
                    title=title,
                    content=content,
                    feedback_id=feedback_id,
                )
            continue  # a tracking-code collision: draw another code
    raise Conflict(_("Could not issue a tracking code, please retry."), code="retry")


def _locked(item: Feedback) -> Feedback:
    return (
        Feedback.objects.select_for_update(of=("self",))
        .select_related("agency", "author")
        .get(pk=item.pk)
    )


def _check(user, item: Feedback, action: str, now: datetime) -> Transition:  # type: ignore[no-untyped-def]
    transition = TRANSITIONS[action]
    if not _may_act(user, item, transition.actor):
        raise NotAllowed()
    if not _state_allows(item, action, now):
        raise InvalidTransition(
            _("Cannot %(action)s a feedback that is %(status)s.")
            % {"action": action, "status": item.status}
        )
    return transition


def _checked_duplicate_of(item: Feedback, duplicate_id: UUID | None) -> Feedback:
    original = (
        Feedback.objects.filter(pk=duplicate_id).exclude(pk=item.pk).first()
        if duplicate_id is not None
        else None
    )
    if original is None or original.status in (Status.REJECTED, Status.WITHDRAWN):
        raise ValidationError(
            {"duplicate_of": [_("Link to another feedback that is still valid.")]},
            code="invalid_duplicate",
        )
    return original


def _checked_forward_target(item: Feedback, agency_id: UUID | None) -> Agency:
    target = (
        Agency.objects.filter(pk=agency_id, is_active=True).first()
        if agency_id is not None
        else None
    )
    if target is None or target.pk == item.agency_id:
        raise ValidationError(
            {"agency": [_("Forward to another active agency.")]}, code="invalid_agency"
        )
    return target


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


def transition_feedback(
    user,  # type: ignore[no-untyped-def]
    item: Feedback,
    action: str,
    *,
    note: str = "",
    internal: bool = False,
    agency: UUID | None = None,
    duplicate_of: UUID | None = None,
) -> Feedback:
    """Apply one action of the feedback state table as `user`, in one transaction.

    What the body refers to (the original of a duplicate, the target agency) is checked
    first (400), then the actor's right (403), then the state (409; `reopen` only once and
    within 7 days of the answer). The author is told of every change; supporters too when
    the item is answered. A duplicate's author then supports (and so follows) the original.
    """
    with transaction.atomic():
        item = _locked(item)
        now = timezone.now()
        details: dict[str, Any] = {}
        if action == "mark_duplicate":
            original = _checked_duplicate_of(item, duplicate_of)
        elif action == "forward":
            target = _checked_forward_target(item, agency)
        transition = _check(user, item, action, now)
        previous = item.status
        if transition.target is not None:
            item.status = transition.target
        if action == "answer":
            item.answer = note
            item.answered_at = now
        elif action == "reopen":
            item.reopened = True
        elif action == "mark_duplicate":
            item.duplicate_of = original
            details["duplicate_of"] = str(original.pk)
        elif action == "forward":
            details = {"from_agency": str(item.agency_id), "to_agency": str(target.pk)}
            # Staff phones that stop seeing the item hear of it in their next sync.
            record_scope_loss(
                "feedback",
                item.pk,
                staff_covering(item.agency),
                keep=staff_covering(target) | {item.author_id},
            )
            item.agency = target
        item.save()
        _record(
            item,
            user,
            action,
            previous,
            note,
            internal=internal and action == "comment",
            details=details,
        )
        kind = NOTIFY_KINDS.get(action)
        if kind is not None:
            reason = note if action != "mark_duplicate" else original.tracking_code
            _notify(item.author, item, kind, reason=reason)
        if action == "mark_duplicate" and original.author_id != item.author_id:
            _add_support(original, item.author)
        if action == "answer":
            supporters = FeedbackSupport.objects.filter(feedback=item).select_related("user")
            for support in supporters:
                if support.user_id != item.author_id:
                    _notify(support.user, item, "feedback.answered", reason=note)
    return item


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
            _record(item, None, "close", Status.ANSWERED, details={"automatic": True})
            _notify(item.author, item, "feedback.closed")
            closed += 1
    return closed


def support_feedback(user, item: Feedback) -> None:  # type: ignore[no-untyped-def]
    """Add `user`'s "me too". Own item → 403; closed item → 409; twice → 409
    `already_supported`. The count moves with F() in the same transaction as the row."""
    if item.author_id == user.pk:
        raise NotAllowed(_("You cannot support your own feedback."))
    with transaction.atomic():
        item = _locked(item)
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


def rate_feedback(user, item: Feedback, *, score: int, comment: str = "") -> FeedbackRating:  # type: ignore[no-untyped-def]
    """The author's rating (1–5) of the answer, once, when answered or closed. A low score
    (1–2) is flagged to the managers of the handling agency and above."""
    with transaction.atomic():
        item = _locked(item)
        if item.author_id != user.pk:
            raise NotAllowed()
        if item.status not in RATABLE_STATES:
            raise InvalidTransition(_("Only an answered feedback can be rated."))
        if FeedbackRating.objects.filter(feedback=item).exists():
            raise Conflict(_("This feedback has been rated already."), code="already_rated")
        rating = FeedbackRating.objects.create(
            feedback=item, author=user, score=score, comment=comment
        )
        audit.record(user, "rate", item, agency_id=item.agency_id, details={"score": score})
        if score <= LOW_SCORE:
            for manager in _managers_of(item):
                _notify(manager, item, "feedback.low_rating", reason=str(score))
    return rating


def add_feedback_attachment(
    user,  # type: ignore[no-untyped-def]
    item: Feedback,
    *,
    kind: str,
    upload: Any,
) -> FeedbackAttachment:
    """Attach a photo (at most 5) or the voice note (one) to the author's open feedback.

    The file is inspected by content first (400/413); then the right (403), the state (409)
    and the cap (400 `too_many_attachments`) under the item's lock. Stored files are removed
    again if the row is not committed.
    """
    if kind not in FeedbackAttachment.Kind.values:
        raise ValidationError({"kind": [_("Unknown attachment kind.")]}, code="invalid_choice")
    inspected = files.inspect_upload(upload, ATTACHMENT_FILE_KINDS[kind])
    attachment = None
    try:
        with transaction.atomic():
            item = _locked(item)
            if item.author_id != user.pk:
                raise NotAllowed()
            if item.status not in ATTACHMENT_STATES:
                raise InvalidTransition(_("Files can be added only while the item is open."))
            limit = ATTACHMENT_LIMITS[kind]
            if item.attachments.filter(kind=kind).count() >= limit:
                raise ValidationError(
                    {
                        "file": [
                            _("A feedback holds at most %(limit)s files of this kind.")
                            % {"limit": limit}
                        ]
                    },
                    code="too_many_attachments",
                )
            attachment = files.attach_inspected(
                FeedbackAttachment,
                inspected,
                owner=item,
                owner_field="feedback",
                kind=kind,
                user=user,
            )
    except BaseException:
        files.delete_stored(*files.stored_names(attachment))
        raise
    return attachment
