from django.urls import path

from common import api_views

urlpatterns = [
    path("languages/", api_views.LanguageListView.as_view(), name="languages"),
]
