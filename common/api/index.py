"""`GET /api/v1/`: where a developer (or a client that only knows the base URL) starts."""

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

# Link name → URL name.
LINKS = {
    "schema": "schema",
    "docs": "swagger-ui",
    "redoc": "redoc",
    "languages": "languages",
    "services": "services",
    "feedback_categories": "feedback-categories",
    "sign_in": "auth-token",
    "register": "auth-register",
}

IndexSerializer = inline_serializer(
    "ApiIndex",
    {
        "title": serializers.CharField(),
        "version": serializers.CharField(),
        "links": serializers.DictField(
            child=serializers.CharField(), help_text="Paths of the main resources."
        ),
    },
)


class ApiIndexView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        summary="Index of the API",
        description="The API's name and version, and links to its spec, its docs and the "
        "resources an app starts with.",
        operation_id="getApiIndex",
        tags=["meta"],
        responses={200: IndexSerializer},
    )
    def get(self, request: Request) -> Response:
        spec = settings.SPECTACULAR_SETTINGS
        return Response(
            {
                "title": spec["TITLE"],
                "version": spec["VERSION"],
                "links": {name: reverse(url_name) for name, url_name in LINKS.items()},
            }
        )
