from django.contrib import admin

from services.models import PublicService, ServiceCategory, ServiceRequest, ServiceRequestEvent


@admin.register(ServiceCategory)
class ServiceCategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "__str__", "position")
    search_fields = ("code",)


@admin.register(PublicService)
class PublicServiceAdmin(admin.ModelAdmin):
    list_display = ("code", "__str__", "national_code", "category", "level", "processing_days")
    list_filter = ("level", "online_level", "category", "is_active")
    search_fields = ("code", "national_code")


class ServiceRequestEventInline(admin.TabularInline):
    model = ServiceRequestEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "from_status", "to_status", "actor", "note", "internal")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(admin.ModelAdmin):
    """Read view of dossiers; state changes go through the API's action functions."""

    list_display = ("tracking_code", "service", "agency", "status", "created_at", "due_at")
    list_filter = ("status", "service")
    search_fields = ("tracking_code",)
    inlines = [ServiceRequestEventInline]
    readonly_fields = (
        "tracking_code",
        "service",
        "applicant",
        "administrative_unit",
        "agency",
        "assignee",
        "status",
        "form_data",
        "note",
        "received_at",
        "due_at",
    )

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        from services.selectors import requests_visible_to

        return requests_visible_to(request.user)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
