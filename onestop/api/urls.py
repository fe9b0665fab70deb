from django.urls import include, path

from onestop.api import stats_views

urlpatterns = [
    path(
        "stats/agencies/<uuid:pk>/",
        stats_views.AgencyStatsView.as_view(),
        name="stats-agency",
    ),
    path("", include("onestop.sms.urls")),
]
