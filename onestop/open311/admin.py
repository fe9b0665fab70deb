"""Open311 client applications in the admin (superusers): a key is shown once, when issued."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from agencies.admin_access import RankScopedAdmin
from common import audit
from onestop.models import Open311Client
from onestop.open311 import clients


@admin.register(Open311Client)
class Open311ClientAdmin(RankScopedAdmin):
    # Applications file feedback anywhere in the country: superusers only.
    view_rank = None
    add_rank = None
    change_rank = None
    list_display = ("name", "key_prefix", "requests_per_minute", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    fields = ("name", "requests_per_minute", "is_active", "key_prefix", "system_user")
    readonly_fields = ("key_prefix", "system_user")
    actions = ("issue_new_key",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        api_key = clients.issue_key(obj)
        audit.record(request.user, "issue_open311_key", obj)
        messages.warning(
            request,
            _("api_key of %(name)s, shown only now: %(key)s") % {"name": obj, "key": api_key},
        )

    @admin.action(description=_("Cấp khoá mới (khoá cũ hết hiệu lực)"))
    def issue_new_key(self, request: HttpRequest, queryset: QuerySet[Open311Client]) -> None:
        for client in queryset:
            api_key = clients.issue_key(client)
            audit.record(request.user, "issue_open311_key", client)
            messages.warning(
                request,
                _("api_key of %(name)s, shown only now: %(key)s")
                % {"name": client, "key": api_key},
            )
