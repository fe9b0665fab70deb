from django.urls import include, path
from rest_framework.routers import SimpleRouter

from bench import peers
from config.urls import urlpatterns as app_urlpatterns

router = SimpleRouter()
router.register("textbook/requests", peers.TextbookDossierViewSet, basename="textbook-requests")
router.register(
    "textbook/agency-requests", peers.TextbookOfficerDossierViewSet, basename="textbook-officer"
)
router.register(
    "textbook/public-feedback", peers.TextbookPublicFeedbackViewSet, basename="textbook-feed"
)
router.register("textbook/notifications", peers.TextbookInboxViewSet, basename="textbook-inbox")

urlpatterns = [
    path("bench/bare/requests/", peers.bare_list_create),
    path("bench/bare/requests/<uuid:pk>/", peers.bare_detail),
    path("bench/bare/services/", peers.bare_catalog),
    path("bench/bare/agency-requests/", peers.bare_officer_list),
    path("bench/bare/public-feedback/", peers.bare_public_feedback),
    path("bench/bare/notifications/", peers.bare_inbox),
    path("bench/bare/notifications/unread-count/", peers.bare_unread_count),
    path("bench/bare/me/", peers.bare_me),
    path("bench/", include(router.urls)),
    *app_urlpatterns,
]
