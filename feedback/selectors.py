"""Every read of feedback a user may make, already scoped."""

from django.db.models import Q, QuerySet

from agencies.models import AdministrativeUnit, Agency
from agencies.selectors import serving_agency
from casework.access import cases_actionable_by, cases_visible_to
from feedback.models import Feedback, FeedbackCategory

TRACKING_PREFIX = Feedback.TRACKING_PREFIX


def categories() -> QuerySet[FeedbackCategory]:
    return FeedbackCategory.objects.all()


def _with_refs(items: QuerySet[Feedback]) -> QuerySet[Feedback]:
    return items.select_related(
        "category", "agency", "author", "administrative_unit", "administrative_unit__parent"
    )


def feedback_visible_to(user) -> QuerySet[Feedback]:  # type: ignore[no-untyped-def]
    """The user's own feedback, plus what is routed to an agency in their scope (staff)."""
    return _with_refs(cases_visible_to(user, Feedback.objects.all(), own=Q(author=user)))


def public_feedback() -> QuerySet[Feedback]:
    """What the public feed shows: published items whose authors agreed, newest first."""
    return (
        Feedback.objects.filter(is_public=True, status__in=Feedback.PUBLISHED)
        .select_related("category", "agency", "administrative_unit", "administrative_unit__parent")
        .order_by("-created_at", "-pk")
    )


def feedback_supportable_by(user) -> QuerySet[Feedback]:  # type: ignore[no-untyped-def]
    """Feedback the user may support or stop supporting: what they see, or the public feed."""
    if not user.is_authenticated or not user.is_active:
        return Feedback.objects.none()
    visible = feedback_visible_to(user).values("pk")
    return Feedback.objects.filter(
        Q(pk__in=visible) | Q(is_public=True, status__in=Feedback.PUBLISHED)
    )


def handling_agency(category: FeedbackCategory, commune: AdministrativeUnit) -> Agency | None:
    """The agency that receives feedback of `category` from `commune`.

    A commune-level category goes to the commune's office when there is one; otherwise (or
    for a province-level category) to the province's board.
    """
    return serving_agency(commune, category.default_level)


def feedback_actionable_by(user) -> QuerySet[Feedback]:  # type: ignore[no-untyped-def]
    """Feedback the user handles as staff: all for a superuser, otherwise what is routed to an
    agency in their scope. The staff UI (the admin) starts here; the user's own feedback as a
    citizen is not in it."""
    return _with_refs(cases_actionable_by(user, Feedback.objects.all()))
