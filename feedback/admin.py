from django.contrib import admin

from feedback.models import Feedback, FeedbackCategory
from feedback.selectors import feedback_visible_to


@admin.register(FeedbackCategory)
class FeedbackCategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "default_level", "position")


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    """Read-only: states change through `feedback.actions`. The author is never shown, so an
    anonymous author stays hidden from staff here too."""

    list_display = ("tracking_code", "title", "status", "agency", "created_at")
    list_filter = ("status",)
    exclude = ("author", "latitude", "longitude")
    search_fields = ("tracking_code", "title")

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        # The same scope as the API: staff see the items routed to their agencies.
        return feedback_visible_to(request.user)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
