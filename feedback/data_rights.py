"""What feedback holds about its author and supporters, for the export and the closing of an
account (`accounts.data_rights`), and what the consents of `accounts.consents` govern here.

Feedback rests on consent: precise coordinates need `location` (without it they are dropped
at submission, the commune stays), publishing needs `publish` on top of the item's own
`is_public` (withdrawing it un-publishes every item of the author). Closing an account keeps
the items as anonymous ones: staff never see the author again; supports and ratings stay,
pointing at the anonymised account.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from accounts.consents import Purpose, has_consent, on_withdrawal
from accounts.data_rights import DataHolder, register_data_holder
from feedback.actions import check_coordinates
from feedback.api.serializers import FeedbackAttachmentOutput
from feedback.models import (
    Feedback,
    FeedbackAttachment,
    FeedbackEvent,
    FeedbackRating,
    FeedbackSupport,
)


def allowed_by_consent(user: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The submitted fields the author's consents allow: coordinates only with `location`,
    `is_public` only with `publish`. Older apps that send them without a consent keep
    working; what they sent is simply not stored."""
    allowed = dict(data)
    if allowed.get("latitude") is not None or allowed.get("longitude") is not None:
        # Bad coordinates are still a 400, consent or not: the app learns of its bug.
        check_coordinates(allowed.get("latitude"), allowed.get("longitude"))
        if not has_consent(user, Purpose.LOCATION):
            allowed["latitude"] = allowed["longitude"] = None
    if allowed.get("is_public") and not has_consent(user, Purpose.PUBLISH):
        allowed["is_public"] = False
    return allowed


def unpublish_authored(user: Any) -> None:
    """The author withdrew `publish`: none of their items stays in the public feed."""
    Feedback.objects.filter(author=user, is_public=True).update(
        is_public=False, updated_at=timezone.now()
    )


def export(user: Any, request: Any) -> dict[str, Any]:
    """The author's items with their timelines (internal notes left out) and signed links
    to their files, their supports and their ratings: five queries however many."""
    items = (
        Feedback.objects.filter(author=user)
        .select_related("category", "agency", "administrative_unit")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=FeedbackEvent.objects.filter(internal=False).order_by("created_at"),
            ),
            Prefetch("attachments", queryset=FeedbackAttachment.objects.order_by("created_at")),
        )
        .order_by("-created_at")
    )
    context = {"request": request}
    rows = [
        {
            "id": str(item.pk),
            "tracking_code": item.tracking_code,
            "status": item.status,
            "category": item.category.code,
            "agency": {"code": item.agency.code, "name": item.agency.name},
            "administrative_unit": {
                "code": item.administrative_unit.code,
                "name": item.administrative_unit.name,
            },
            "village": item.village,
            "latitude": item.latitude,
            "longitude": item.longitude,
            "is_anonymous": item.is_anonymous,
            "is_public": item.is_public,
            "title": item.title,
            "content": item.content,
            "answer": item.answer,
            "created_at": item.created_at,
            "events": [
                {
                    "action": event.action,
                    "from_status": event.from_status,
                    "to_status": event.to_status,
                    "note": event.note,
                    "at": event.created_at,
                }
                for event in item.events.all()
            ],
            "attachments": FeedbackAttachmentOutput(
                item.attachments.all(), many=True, context=context
            ).data,
        }
        for item in items
    ]
    supports = [
        {"feedback": support.feedback.tracking_code, "created_at": support.created_at}
        for support in FeedbackSupport.objects.filter(user=user)
        .select_related("feedback")
        .order_by("created_at")
    ]
    ratings = [
        {
            "feedback": str(rating.feedback_id),
            "score": rating.score,
            "comment": rating.comment,
            "created_at": rating.created_at,
        }
        for rating in FeedbackRating.objects.filter(author=user).order_by("created_at")
    ]
    return {"feedback": rows, "feedback_supports": supports, "feedback_ratings": ratings}


def erase(user: Any) -> None:
    """The author's items stay, as anonymous ones (staff never see who sent them); the
    stamp moves so staff phones drop the name they kept."""
    Feedback.objects.filter(author=user, is_anonymous=False).update(
        is_anonymous=True, updated_at=timezone.now()
    )


def subjects(user: Any) -> dict[str, Any]:
    ids = Feedback.objects.filter(author=user).values_list("pk", flat=True)
    return {Feedback._meta.label_lower: list(ids)}


def register() -> None:
    on_withdrawal(Purpose.PUBLISH, unpublish_authored)
    register_data_holder(DataHolder("feedback", export=export, erase=erase, subjects=subjects))
