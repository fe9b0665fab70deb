from django.urls import path

from services.api import receipt_views, stats_views, views

urlpatterns = [
    path("service-categories/", views.ServiceCategoryListView.as_view(), name="service-categories"),
    path("services/", views.PublicServiceListView.as_view(), name="services"),
    path("services/<slug:code>/", views.PublicServiceDetailView.as_view(), name="service-detail"),
    path("requests/", views.ServiceRequestListCreateView.as_view(), name="requests"),
    # Before `requests/<uuid:pk>/`, so the word is never read as an id.
    path("requests/lookup/", views.ServiceRequestLookupView.as_view(), name="request-lookup"),
    path("requests/<uuid:pk>/", views.ServiceRequestDetailView.as_view(), name="request-detail"),
    path(
        "requests/<uuid:pk>/transitions/",
        views.ServiceRequestTransitionView.as_view(),
        name="request-transitions",
    ),
    path(
        "requests/<uuid:pk>/rating/",
        views.ServiceRequestRatingView.as_view(),
        name="request-rating",
    ),
    path(
        "requests/<uuid:pk>/receipt/",
        receipt_views.ServiceRequestReceiptView.as_view(),
        name="request-receipt",
    ),
    path(
        "requests/<uuid:pk>/attachments/",
        views.ServiceRequestAttachmentView.as_view(),
        name="request-attachments",
    ),
    path(
        "stats/agencies/<uuid:pk>/",
        stats_views.AgencyStatsView.as_view(),
        name="stats-agency",
    ),
]
