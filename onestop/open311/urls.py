from django.urls import re_path

from onestop.open311 import views

# Every path takes the standard's `.json`/`.xml` suffix, or none (then `?format=`, JSON by
# default).
FMT = r"(?:\.(?P<fmt>json|xml))?$"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery, name="open311-discovery"),
    re_path(r"^services" + FMT, views.service_list, name="open311-services"),
    re_path(
        r"^services/(?P<code>[a-z0-9-]+)" + FMT, views.service_definition, name="open311-service"
    ),
    re_path(r"^requests" + FMT, views.requests, name="open311-requests"),
    re_path(
        r"^requests/(?P<request_id>[A-Za-z0-9-]+?)" + FMT,
        views.request_detail,
        name="open311-request",
    ),
    re_path(r"^tokens/(?P<token>[A-Za-z0-9]+)" + FMT, views.token_detail, name="open311-token"),
    # Anything else under /open311/v2/: GeoReport's 404, not the API's.
    re_path(r"^(?P<rest>[\s\S]*)\Z", views.not_found, name="open311-not-found"),
]
