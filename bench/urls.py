from django.urls import include, path
from rest_framework.routers import SimpleRouter

from bench import peers
from config.urls import urlpatterns as app_urlpatterns

router = SimpleRouter()
router.register("textbook/requests", peers.TextbookDossierViewSet, basename="textbook-requests")

urlpatterns = [
    path("bench/bare/requests/", peers.bare_list_create),
    path("bench/bare/requests/<uuid:pk>/", peers.bare_detail),
    path("bench/bare/services/", peers.bare_catalog),
    path("bench/", include(router.urls)),
    *app_urlpatterns,
]
