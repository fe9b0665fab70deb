from django.urls import path

from feedback.api import views

urlpatterns = [
    path(
        "feedback-categories/",
        views.FeedbackCategoryListView.as_view(),
        name="feedback-categories",
    ),
    path("feedback/", views.FeedbackListCreateView.as_view(), name="feedback"),
    # Before `feedback/<uuid:pk>/`, for readability (a word is never a UUID anyway).
    path("feedback/public/", views.PublicFeedbackListView.as_view(), name="feedback-public"),
    path("feedback/<uuid:pk>/", views.FeedbackDetailView.as_view(), name="feedback-detail"),
    path(
        "feedback/<uuid:pk>/transitions/",
        views.FeedbackTransitionView.as_view(),
        name="feedback-transitions",
    ),
    path(
        "feedback/<uuid:pk>/support/", views.FeedbackSupportView.as_view(), name="feedback-support"
    ),
    path("feedback/<uuid:pk>/rating/", views.FeedbackRatingView.as_view(), name="feedback-rating"),
    path(
        "feedback/<uuid:pk>/attachments/",
        views.FeedbackAttachmentView.as_view(),
        name="feedback-attachments",
    ),
]
