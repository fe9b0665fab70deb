from django.contrib import admin

from services import actions, selectors
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
    # Withdrawing must tell the phones (a sync removal): only the actions below change it.
    readonly_fields = ("is_active",)
    actions = ("withdraw_from_catalog", "offer_again")

    @admin.action(description="Withdraw from the catalog")
    def withdraw_from_catalog(self, request, queryset):  # type: ignore[no-untyped-def]
        for service in queryset:
            actions.withdraw_service(service)

    @admin.action(description="Offer again")
    def offer_again(self, request, queryset):  # type: ignore[no-untyped-def]
        for service in queryset:
            actions.offer_service(service)


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
        # The staff UI: what the user may act on as staff, by the API's own rule. A foreign
        # dossier's change URL then finds nothing and the admin redirects away from it.
        return selectors.requests_actionable_by(request.user)

    def change_view(self, request, object_id, form_url="", extra_context=None):  # type: ignore[no-untyped-def]
        response = super().change_view(request, object_id, form_url, extra_context)
        context = getattr(response, "context_data", None) or {}
        dossier = context.get("original")
        if request.method == "GET" and response.status_code == 200 and dossier is not None:
            actions.record_personal_data_read(request.user, dossier)
        return response

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
