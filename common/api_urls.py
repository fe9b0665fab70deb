from django.urls import path

from common import api_views

urlpatterns = [
    path("languages/", api_views.LanguageListView.as_view(), name="languages"),
    path("uploads/", api_views.UploadCreateView.as_view(), name="upload-create"),
    path("uploads/<uuid:pk>/", api_views.UploadDetailView.as_view(), name="upload-detail"),
]
