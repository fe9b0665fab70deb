from django.urls import path

from casework.api.urls import case_urls
from feedback.api import views

urlpatterns = [
    path(
        "feedback-categories/",
        views.FeedbackCategoryListView.as_view(),
        name="feedback-categories",
    ),
    *case_urls("feedback", "feedback", views, "Feedback"),
    path(
        "feedback/<uuid:pk>/support/", views.FeedbackSupportView.as_view(), name="feedback-support"
    ),
    path("feedback/public/", views.PublicFeedbackListView.as_view(), name="feedback-public"),
]
