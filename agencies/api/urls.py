from django.urls import path

from agencies.api import views

urlpatterns = [
    path(
        "administrative-units/",
        views.AdministrativeUnitListView.as_view(),
        name="administrative-unit-list",
    ),
    path("agencies/", views.AgencyListView.as_view(), name="agency-list"),
    path("agencies/<str:agency_id>/", views.AgencyDetailView.as_view(), name="agency-detail"),
]
