from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from common import views as common_views
from common.api.index import ApiIndexView
from common.files.downloads import FileDownloadView
from common.i18n.admin_translations import translations_view
from common.metrics import metrics_view

api_v1: list[URLPattern | URLResolver] = [
    path("", ApiIndexView.as_view(), name="api-index"),
    path("", include("accounts.api.urls")),
    path("", include("agencies.api.urls")),
    path("", include("services.api.urls")),
    path("", include("feedback.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("onestop.api.urls")),
    path("", include("common.api.urls")),
    path("files/<str:token>/", FileDownloadView.as_view(), name="file-download"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    # Swagger UI's set-up script served as a file, Redoc without third-party fonts: both
    # pages run under the Content-Security-Policy of common/api/csp.py.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="docs/redoc.html"),
        name="redoc",
    ),
    # Open311 GeoReport v2 over feedback: the standard's formats and errors, not the API's.
    path("open311/v2/", include("onestop.open311.urls")),
    path("health/live", common_views.live, name="health-live"),
    path("health/ready", common_views.ready, name="health-ready"),
    # Prometheus; refused unless METRICS_TOKEN or METRICS_ALLOWED_NETWORKS allow it.
    path("metrics", metrics_view, name="metrics"),
    # Before the admin's own URLs, which would otherwise take `admin/translations/`.
    path(
        "admin/translations/",
        admin.site.admin_view(translations_view),
        name="admin-translations",
    ),
    path("admin/", admin.site.urls),
]

handler404 = "common.views.not_found"
handler500 = "common.views.server_error"
