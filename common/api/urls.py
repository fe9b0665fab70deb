from django.urls import path

from common.files import tus
from common.i18n import views as i18n_views

urlpatterns = [
    path("languages/", i18n_views.LanguageListView.as_view(), name="languages"),
    path("uploads/", tus.UploadCreateView.as_view(), name="upload-create"),
    path("uploads/<uuid:pk>/", tus.UploadDetailView.as_view(), name="upload-detail"),
]
