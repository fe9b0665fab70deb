from django.urls import path

from casework.api.urls import case_urls
from services.api import receipt_views, views

urlpatterns = [
    path("service-categories/", views.ServiceCategoryListView.as_view(), name="service-categories"),
    path("services/", views.PublicServiceListView.as_view(), name="services"),
    path("services/<slug:code>/", views.PublicServiceDetailView.as_view(), name="service-detail"),
    *case_urls("requests", "request", views, "ServiceRequest"),
    path(
        "requests/<uuid:pk>/receipt/",
        receipt_views.ServiceRequestReceiptView.as_view(),
        name="request-receipt",
    ),
    path("requests/lookup/", views.ServiceRequestLookupView.as_view(), name="request-lookup"),
]
