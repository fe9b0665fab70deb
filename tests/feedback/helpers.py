"""Shared helpers for feedback tests: categories and items in a given state."""

from django.utils import timezone

from feedback import actions
from feedback.models import Feedback, FeedbackCategory


def category(code="infrastructure", level="commune"):
    return FeedbackCategory.objects.get_or_create(
        code=code,
        defaults={"name": {"vi": "Hạ tầng", "en": "Infrastructure"}, "default_level": level},
    )[0]


def make_feedback(world, author, status="submitted", **extra):
    item, _created = actions.submit_feedback(
        author=author,
        category=extra.pop("category", None) or category(),
        commune=extra.pop("commune", None) or world["lam_binh"],
        title=extra.pop("title", "Cầu treo bản Nà Khà bị hỏng"),
        content=extra.pop("content", "Cầu treo bị gãy hai tấm ván, học sinh đi lại nguy hiểm."),
        **extra,
    )
    if status != "submitted":
        Feedback.objects.filter(pk=item.pk).update(
            status=status,
            answered_at=timezone.now() if status in ("answered", "closed") else None,
        )
        item.refresh_from_db()
    return item
