"""Resumable uploads over the tus 1.0 protocol: create, append at an offset, read the offset."""

import base64
import tempfile
from typing import Any
from uuid import UUID

from django.core.files import File
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.idempotency import idempotent_including
from common.api.mixins import LanguageMixin
from common.api.openapi import (
    FILE_TOO_LARGE_RESPONSE,
    HEADER_ERROR_RESPONSE,
    UNSUPPORTED_TUS_VERSION_RESPONSE,
    ErrorResponse409,
)
from common.api.throttling import GenerousAnonRateThrottle, UserWriteThrottle
from common.files import uploads
from common.models import Upload

# Completeness reads the whole catalog; a language picker does not need it to the second.
COMPLETENESS_CACHE_KEY = "i18n:translation-tally"
COMPLETENESS_CACHE_SECONDS = 300


class OffsetOctetStreamParser(BaseParser):
    """The body of a tus PATCH: raw bytes, spooled to disk past 1 MB, never decoded.

    A connection that drops mid-body leaves a short chunk, which is kept: the tus client
    asks for the offset afterwards and resumes behind the bytes that did arrive.
    """

    media_type = "application/offset+octet-stream"
    spool_in_memory = 1024 * 1024
    read_size = 64 * 1024

    def parse(  # type: ignore[override]
        self, stream: Any, media_type: Any = None, parser_context: Any = None
    ) -> File:
        limit = uploads.max_size()
        spool = tempfile.SpooledTemporaryFile(max_size=self.spool_in_memory)  # noqa: SIM115
        received = 0
        try:
            while piece := stream.read(self.read_size):
                received += len(piece)
                if received > limit:
                    spool.close()
                    raise uploads.UploadLengthExceeded()
                spool.write(piece)
        except OSError:
            pass  # the client went away; what arrived is still worth keeping
        spool.seek(0)
        return File(spool, name="chunk")


TUS_RESUMABLE_PARAMETER = OpenApiParameter(
    "Tus-Resumable",
    str,
    OpenApiParameter.HEADER,
    required=True,
    enum=[uploads.TUS_VERSION],
    description="The tus protocol version; anything else is a 412.",
)


def _response_header(name: str, description: str, codes: list[int]) -> OpenApiParameter:
    return OpenApiParameter(
        name, str, OpenApiParameter.HEADER, response=codes, description=description
    )


def _expires(upload: Upload) -> str:
    return http_date(upload.expires_at.timestamp())


def _encoded_metadata(upload: Upload) -> str:
    pairs = {"filename": upload.filename, "filetype": upload.filetype}
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode('ascii')}"
        for key, value in pairs.items()
        if value
    )


class TusView(LanguageMixin, GenericAPIView):
    """Speaks tus 1.0.0: checks `Tus-Resumable` on every request but OPTIONS and puts it on
    every response, errors included (in the project's error shape)."""

    # drf-spectacular skips HEAD and OPTIONS unless asked (common.api.openapi.SchemaGenerator).
    documented_extra_methods: tuple[str, ...] = ("HEAD", "OPTIONS")

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != (
            uploads.TUS_VERSION
        ):
            raise uploads.UnsupportedTusVersion()

    def get_permissions(self):  # type: ignore[no-untyped-def]
        # Discovery is open: a client learns what the server supports before logging in.
        if self.request is not None and self.request.method == "OPTIONS":
            return [AllowAny()]
        return super().get_permissions()

    def finalize_response(  # type: ignore[no-untyped-def]
        self, request, response, *args, **kwargs
    ):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = uploads.TUS_VERSION
        if response.status_code == 412 or request.method == "OPTIONS":
            response["Tus-Version"] = uploads.TUS_VERSION
        return response

    @extend_schema(
        summary="Discover the tus protocol support",
        description=(
            "204 with `Tus-Version`, `Tus-Extension` (creation, termination) and "
            "`Tus-Max-Size` (the largest file accepted, in bytes). No authentication needed."
        ),
        operation_id="uploads_options",
        tags=["uploads"],
        request=None,
        responses={204: OpenApiResponse(description="The server's tus capabilities.")},
        parameters=[
            _response_header("Tus-Version", "Always `1.0.0`.", [204]),
            _response_header("Tus-Extension", "`creation,termination`.", [204]),
            _response_header("Tus-Max-Size", "Bytes.", [204]),
            _response_header("Tus-Resumable", "`1.0.0`.", [204]),
        ],
    )
    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        return Response(
            status=status.HTTP_204_NO_CONTENT,
            headers={
                "Tus-Extension": ",".join(uploads.TUS_EXTENSIONS),
                "Tus-Max-Size": str(uploads.max_size()),
            },
        )


class UploadCreateView(TusView):
    """tus creation: `POST uploads/` with the length, then PATCH the bytes to `Location`."""

    throttle_classes = [GenerousAnonRateThrottle, UserWriteThrottle]
    serializer_class = None

    @extend_schema(
        summary="Start a resumable upload (tus creation)",
        description=(
            "tus 1.0.0 creation, with no body: `Upload-Length` gives the size in bytes (at most "
            "`Tus-Max-Size`, else 413 `file_too_large`), `Upload-Metadata` optionally the "
            "file's `filename` and `filetype` as comma-separated `key base64(value)` pairs. "
            "Answers 201 with the new upload's URL in `Location`; send the bytes there with "
            "PATCH. An upload expires 24 hours after its last piece (`Upload-Expires`). "
            "Attach a finished upload with `{upload_id, kind}` on a dossier's or a feedback's "
            "attachments."
        ),
        operation_id="uploads_create",
        tags=["uploads"],
        request=None,
        responses={
            201: OpenApiResponse(description="Created; `Location` is the upload's URL."),
            400: HEADER_ERROR_RESPONSE,
            412: UNSUPPORTED_TUS_VERSION_RESPONSE,
            413: FILE_TOO_LARGE_RESPONSE,
        },
        parameters=[
            TUS_RESUMABLE_PARAMETER,
            OpenApiParameter(
                "Upload-Length",
                int,
                OpenApiParameter.HEADER,
                required=True,
                description="The file's size in bytes.",
            ),
            OpenApiParameter(
                "Upload-Metadata",
                {
                    "type": "string",
                    "pattern": uploads.METADATA_PATTERN,
                    "maxLength": uploads.METADATA_MAX_LENGTH,
                },
                OpenApiParameter.HEADER,
                description="Comma-separated `key base64(value)` pairs, e.g. "
                "`filename bmjDoS5qcGc=,filetype aW1hZ2UvanBlZw==`.",
            ),
            _response_header("Location", "The upload's URL.", [201]),
            _response_header("Upload-Expires", "RFC 9110 date.", [201]),
            _response_header("Tus-Resumable", "`1.0.0`.", [201]),
        ],
    )
    @idempotent_including("Upload-Length", "Upload-Metadata")
    def post(self, request: Request) -> Response:
        upload = uploads.create_upload(
            request.user,
            length=uploads.parse_length(request.headers.get("Upload-Length")),
            metadata=uploads.parse_metadata(request.headers.get("Upload-Metadata")),
        )
        location = request.build_absolute_uri(reverse("upload-detail", args=[upload.pk]))
        return Response(
            status=status.HTTP_201_CREATED,
            headers={"Location": location, "Upload-Expires": _expires(upload)},
        )


class UploadDetailView(TusView):
    """One upload: how far it got (HEAD), more bytes (PATCH), or away with it (DELETE)."""

    serializer_class = None
    # Clients discover the protocol on the creation URL; documenting it once is enough.
    documented_extra_methods = ("HEAD",)

    def get_parsers(self):  # type: ignore[no-untyped-def]
        return [OffsetOctetStreamParser()]

    @extend_schema(
        summary="Ask how many bytes of an upload arrived (tus HEAD)",
        description=(
            "`Upload-Offset` is where to resume; `Upload-Length` the declared size. 404 for an "
            "upload that is not yours, has expired or was attached already."
        ),
        operation_id="uploads_head",
        tags=["uploads"],
        request=None,
        responses={
            200: OpenApiResponse(description="No body; the headers tell the state."),
            412: UNSUPPORTED_TUS_VERSION_RESPONSE,
        },
        parameters=[
            TUS_RESUMABLE_PARAMETER,
            _response_header("Upload-Offset", "Bytes received so far.", [200]),
            _response_header("Upload-Length", "Declared size in bytes.", [200]),
            _response_header("Upload-Expires", "RFC 9110 date.", [200]),
            _response_header("Upload-Metadata", "As sent when created.", [200]),
            _response_header("Cache-Control", "`no-store`.", [200]),
            _response_header("Tus-Resumable", "`1.0.0`.", [200]),
        ],
    )
    def head(self, request: Request, pk: UUID) -> Response:
        upload = uploads.get_upload(request.user, pk)
        headers = {
            "Upload-Offset": str(upload.offset),
            "Upload-Length": str(upload.length),
            "Upload-Expires": _expires(upload),
            "Cache-Control": "no-store",
        }
        if metadata := _encoded_metadata(upload):
            headers["Upload-Metadata"] = metadata
        return Response(status=status.HTTP_200_OK, headers=headers)

    @extend_schema(
        summary="Send bytes of an upload (tus PATCH)",
        description=(
            "Body: the next bytes, `Content-Type: application/offset+octet-stream` (else 415). "
            "`Upload-Offset` must equal the bytes received so far (else 409 "
            "`upload_offset_mismatch`: ask with HEAD and resume from there); bytes past the "
            "declared length are a 400 `upload_length_exceeded`. If the connection drops, the "
            "bytes that arrived are kept. Answers 204 with the new `Upload-Offset`."
        ),
        operation_id="uploads_patch",
        tags=["uploads"],
        request={OffsetOctetStreamParser.media_type: OpenApiTypes.BINARY},
        responses={
            204: OpenApiResponse(description="Stored; `Upload-Offset` is the new offset."),
            400: HEADER_ERROR_RESPONSE,
            409: OpenApiResponse(
                ErrorResponse409, description="`upload_offset_mismatch`: resume from HEAD."
            ),
            412: UNSUPPORTED_TUS_VERSION_RESPONSE,
        },
        parameters=[
            TUS_RESUMABLE_PARAMETER,
            OpenApiParameter(
                "Upload-Offset",
                int,
                OpenApiParameter.HEADER,
                required=True,
                description="Where these bytes start.",
            ),
            _response_header("Upload-Offset", "Bytes received so far.", [204]),
            _response_header("Upload-Expires", "RFC 9110 date.", [204]),
            _response_header("Tus-Resumable", "`1.0.0`.", [204]),
        ],
    )
    @idempotent_including("Upload-Offset")
    def patch(self, request: Request, pk: UUID) -> Response:
        uploads.get_upload(request.user, pk)  # a stranger's id is a 404 before anything else
        if request.content_type.split(";")[0].strip() != OffsetOctetStreamParser.media_type:
            raise UnsupportedMediaType(request.content_type or "")
        offset = uploads.parse_offset(request.headers.get("Upload-Offset"))
        chunk = request.data if isinstance(request.data, File) else ContentFile(b"", "chunk")
        upload = uploads.append_chunk(request.user, pk, offset=offset, chunk=chunk)
        return Response(
            status=status.HTTP_204_NO_CONTENT,
            headers={"Upload-Offset": str(upload.offset), "Upload-Expires": _expires(upload)},
        )

    @extend_schema(
        summary="Abandon an upload (tus termination)",
        description="Deletes the upload and its bytes; later requests to it answer 404.",
        operation_id="uploads_destroy",
        tags=["uploads"],
        request=None,
        responses={
            204: OpenApiResponse(description="Deleted."),
            412: UNSUPPORTED_TUS_VERSION_RESPONSE,
        },
        parameters=[TUS_RESUMABLE_PARAMETER, _response_header("Tus-Resumable", "`1.0.0`.", [204])],
    )
    def delete(self, request: Request, pk: UUID) -> Response:
        uploads.terminate_upload(request.user, pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
