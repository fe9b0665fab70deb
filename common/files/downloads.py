"""The one door through which stored files leave: a signed, short-lived link."""

from collections.abc import Iterable
from typing import Any

from django.http import StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from common import files
from common.api.openapi import GONE_RESPONSE
from common.files import storage


class DownloadLinkGone(APIException):
    status_code = status.HTTP_410_GONE
    default_detail = _("This download link has expired. Open the item again for a fresh one.")
    default_code = "link_expired"


class AnyAccept(BaseContentNegotiation):
    """A download answers with the file's own type, whatever `Accept` the client sent."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        # Errors still render as JSON in the one error shape.
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class FileDownloadView(APIView):
    # The link itself is the credential; a stale bearer token sent along must not turn a
    # valid link into a 401.
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes: list[Any] = []
    content_negotiation_class = AnyAccept

    @extend_schema(
        summary="Download a stored file through a signed link",
        description=(
            "Links come from `url`/`preview_url` of an attachment and expire after a few "
            "minutes (410 `link_expired`); a link that was altered answers 404. The file is "
            "sent as an attachment with `X-Content-Type-Options: nosniff`."
        ),
        tags=["files"],
        auth=[],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, with its detected content type."
            ),
            410: GONE_RESPONSE,
        },
    )
    def get(self, request: Request, token: str) -> StreamingHttpResponse:
        try:
            download = files.resolve_download(token)
        except files.DownloadLinkExpired as exc:
            raise DownloadLinkGone() from exc
        if download is None:
            raise NotFound()
        try:
            # Streamed through the app from disk or the object store alike: the headers
            # below go with every download and no object is ever readable by URL.
            stream = storage.open_stream(download.storage_name)
        except FileNotFoundError as exc:
            raise NotFound() from exc
        response = StreamingHttpResponse(stream.chunks, content_type=download.content_type)
        if stream.size is not None:
            response["Content-Length"] = str(stream.size)
        response["Content-Disposition"] = files.content_disposition(download.filename)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        # Should a browser render it anyway, it runs nothing and leaks the link to no one.
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Referrer-Policy"] = "no-referrer"
        return response
