"""Resumable uploads (tus 1.0.0, core + creation + termination): the writes and reads.

A phone on a weak line sends a big file in pieces. It creates an upload with the total
length, PATCHes bytes at the offset the server reports, and after a dropped connection asks
(HEAD) how far the server got and carries on from there. The finished upload is attached to
a dossier or a feedback by its id, where it is inspected exactly like a multipart file.

Each PATCH's bytes become a piece of their own in the private storage
(`uploads-partial/<upload id>/<offset>`), local disk or S3 alike: object stores cannot write
at an offset, and any web server may take the next PATCH. A piece is written under the
upload row's lock, named by the offset the row records, and the row moves forward in the
same transaction: two PATCHes at one offset cannot both land, and a piece written by a
request that then failed is replaced by the next one at that offset. The pieces are joined,
in order of their offsets, when the finished upload is used (`finished_upload`).
"""

from __future__ import annotations

import base64
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ErrorDetail, NotFound, ValidationError

from common import files
from common.exceptions import Conflict, InvalidInput
from common.files import storage
from common.models import Upload
from common.text import without_forbidden

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = ("creation", "termination")
# An unfinished upload lives this long after its last piece; a finished one waits as long
# to be attached.
EXPIRY = timedelta(hours=24)
METADATA_MAX_LENGTH = 4096
# `Upload-Metadata` as a whole: comma-separated pairs `key[ base64]`, a key being printable
# ASCII without space or comma, blanks allowed around the commas (none at either end: HTTP
# strips them). The spec carries the same pattern, so a header it allows is one the server
# reads.
_KEY = r"[\x21-\x2b\x2d-\x7e]+"
_BASE64 = r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
_PAIR = rf"{_KEY}(?: [ \t]*{_BASE64})?"
METADATA_PATTERN = rf"^(?:{_PAIR}(?:[ \t]*,[ \t]*{_PAIR})*)?$"
_METADATA = re.compile(METADATA_PATTERN)
_COPY_BUFFER = 256 * 1024
# A joined upload stays in memory up to this size, then goes to a temporary file.
_JOIN_SPOOL_BYTES = 2 * 1024 * 1024
PARTIAL_PREFIX = "uploads-partial"


class UnsupportedTusVersion(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("This server speaks tus version 1.0.0 only (header Tus-Resumable).")
    default_code = "unsupported_tus_version"


class UploadOffsetMismatch(Conflict):
    default_detail = _(
        "Upload-Offset does not match the bytes received so far; ask with HEAD and resume "
        "from there."
    )
    default_code = "upload_offset_mismatch"


class UploadLengthExceeded(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("These bytes would go past the length declared for the upload.")
    default_code = "upload_length_exceeded"


class UploadIncomplete(Conflict):
    default_detail = _("The upload is not finished yet.")
    default_code = "upload_incomplete"


class UploadAlreadyAttached(Conflict):
    default_detail = _("This upload has already been attached.")
    default_code = "upload_already_attached"


def max_size() -> int:
    """The largest upload accepted: the largest cap of any file kind (`common.files`)."""
    return max(files.size_limit(kind) for kind in files.KINDS)


def pieces_prefix(upload: Upload) -> str:
    """The storage folder holding the pieces of `upload`."""
    return f"{PARTIAL_PREFIX}/{upload.pk.hex}"


def piece_name(upload: Upload, offset: int) -> str:
    """The storage name of the piece of `upload` that starts at `offset`."""
    return f"{pieces_prefix(upload)}/{offset:012d}"


def _header_error(header: str, message: Any, code: str = "invalid") -> ValidationError:
    return ValidationError({header: [ErrorDetail(str(message), code=code)]})


def parse_length(raw: str | None) -> int:
    """The `Upload-Length` header: a non-negative integer no larger than `max_size()`."""
    if raw is None or raw.strip() == "":
        raise _header_error(
            "Upload-Length",
            _("Upload-Length is required (deferred length is not supported)."),
            "required",
        )
    if not raw.strip().isdigit():
        raise _header_error("Upload-Length", _("Upload-Length must be a whole number of bytes."))
    length = int(raw.strip())
    if length > max_size():
        raise files.FileTooLarge(
            {
                "Upload-Length": [
                    ErrorDetail(
                        str(
                            _("The file is larger than %(mb)s MB.")
                            % {"mb": round(max_size() / 2**20, 1)}
                        ),
                        code="file_too_large",
                    )
                ]
            }
        )
    return length


def parse_offset(raw: str | None) -> int:
    """The `Upload-Offset` header of a PATCH: a non-negative integer."""
    if raw is None or not raw.strip().isdigit():
        raise _header_error(
            "Upload-Offset", _("Upload-Offset must be a whole number of bytes."), "required"
        )
    return int(raw.strip())


def parse_metadata(raw: str | None) -> dict[str, str]:
    """`Upload-Metadata`: comma-separated `key base64(value)` pairs, the value optional.

    Values are decoded as UTF-8 (file names are often Vietnamese; bytes that are not UTF-8
    become U+FFFD, control characters are dropped). A key sent twice keeps its last value.
    Raises a 400 on the header when it does not match `METADATA_PATTERN`.
    """
    if raw is None:
        return {}
    if len(raw) > METADATA_MAX_LENGTH:
        raise _header_error("Upload-Metadata", _("Upload-Metadata is too long."), "max_length")
    if not _METADATA.fullmatch(raw):
        raise _header_error("Upload-Metadata", _("Upload-Metadata is malformed."))
    metadata: dict[str, str] = {}
    for pair in raw.split(","):
        key, _space, encoded = pair.strip(" \t").partition(" ")
        if key:
            value = base64.b64decode(encoded.strip(" \t"), validate=True)
            metadata[key] = without_forbidden(value.decode("utf-8", errors="replace"))
    return metadata


def uploads_of(user: Any) -> QuerySet[Upload]:
    """The caller's uploads that are still alive; anyone else's do not exist for them."""
    if not getattr(user, "is_authenticated", False):
        return Upload.objects.none()
    return Upload.objects.filter(owner=user, expires_at__gt=timezone.now())


def _open_upload(user: Any, upload_id: Any, *, lock: bool = False) -> Upload:
    """The caller's live, not yet attached upload, or a 404."""
    uploads = uploads_of(user).filter(attached_at__isnull=True)
    if lock:
        uploads = uploads.select_for_update()
    upload = uploads.filter(pk=upload_id).first()
    if upload is None:
        raise NotFound()
    return upload


def get_upload(user: Any, upload_id: UUID) -> Upload:
    """For HEAD: the caller's upload that is still receiving or waiting to be attached."""
    return _open_upload(user, upload_id)


def create_upload(user: Any, *, length: int, metadata: dict[str, str]) -> Upload:
    """Start an upload of `length` bytes for `user`; its pieces arrive with PATCH.

    `metadata` is what the client sent in Upload-Metadata; `filename` and `filetype` are
    kept (cut to their columns) to name the attachment later. Nothing else is trusted.
    """
    return Upload.objects.create(
        owner=user,
        length=length,
        filename=metadata.get("filename", "")[:255],
        filetype=metadata.get("filetype", "")[:100],
        expires_at=timezone.now() + EXPIRY,
    )


def append_chunk(user: Any, upload_id: UUID, *, offset: int, chunk: File) -> Upload:
    """Store `chunk` as the piece at `offset` of the caller's upload and move its offset on.

    404 for an upload that is not the caller's, expired or already attached; 409
    `upload_offset_mismatch` unless `offset` is exactly the bytes received so far; 400
    `upload_length_exceeded` for bytes past the declared length. The row is locked while
    the piece is written, so of two PATCHes at the same offset only the first lands.
    A short chunk (the connection dropped) is kept: the client resumes after it.
    """
    size = chunk.size or 0
    with transaction.atomic():
        upload = _open_upload(user, upload_id, lock=True)
        if offset != upload.offset:
            raise UploadOffsetMismatch()
        if offset + size > upload.length:
            raise UploadLengthExceeded()
        # Conditional on the offset read above: where the database ignores FOR UPDATE
        # (SQLite), this write is what serialises two PATCHes at the same offset.
        moved = Upload.objects.filter(pk=upload.pk, offset=offset).update(
            offset=offset + size,
            expires_at=timezone.now() + EXPIRY,
            updated_at=timezone.now(),
        )
        if not moved:
            raise UploadOffsetMismatch()
        if size:
            _write_piece(upload, offset, chunk)
        upload.refresh_from_db()
    return upload


def _write_piece(upload: Upload, offset: int, chunk: File) -> None:
    # Named by its offset: a piece left behind by a request that failed after writing is
    # replaced by the next one at the same offset, never joined.
    chunk.seek(0)
    storage.write(piece_name(upload, offset), chunk)


def received_bytes(upload: Upload) -> File:
    """The bytes of `upload` received so far, its pieces joined in order, as a file.

    Walks the pieces from offset 0, each one's size giving where the next starts, and stops
    at `upload.offset`: stray pieces a failed request left off that path are never read.
    Raises OSError when a piece is missing or its size does not fit.
    """
    joined = tempfile.SpooledTemporaryFile(max_size=_JOIN_SPOOL_BYTES)  # noqa: SIM115
    position = 0
    try:
        while position < upload.offset:
            with files.private_storage.open(piece_name(upload, position), "rb") as piece:
                size = 0
                for part in piece.chunks(_COPY_BUFFER):
                    joined.write(part)
                    size += len(part)
            if size == 0:
                raise OSError(f"empty piece at {position} of upload {upload.pk}")
            position += size
        if position != upload.offset:
            raise OSError(f"pieces of upload {upload.pk} end at {position}, not {upload.offset}")
    except BaseException:
        joined.close()
        raise
    joined.seek(0)
    return File(joined, name=upload.filename or "upload")


def terminate_upload(user: Any, upload_id: UUID) -> None:
    """Delete the caller's upload and its bytes (tus termination); 404 if there is none."""
    with transaction.atomic():
        upload = _open_upload(user, upload_id, lock=True)
        prefix = pieces_prefix(upload)
        upload.delete()
        transaction.on_commit(lambda: storage.delete_prefix(prefix))


@contextmanager
def finished_upload(user: Any, upload_id: Any) -> Iterator[File]:
    """The caller's finished upload as a file, consumed if the block completes.

    Use it around the action that attaches the file: it runs in one transaction with the
    upload's row locked, so an upload is attached once, and a failing attach (a 403, a full
    dossier, content refused for this kind but fine for another) leaves it to be attached
    again. Content no attachment could ever take (not an accepted type at all, a PDF with
    active content, too large for any kind) is discarded with its bytes at once. 404 when
    the upload is not the caller's or has expired; 409 `upload_incomplete` while bytes are
    missing; 409 `upload_already_attached` the second time.
    """
    useless: Upload | None = None
    try:
        with transaction.atomic():
            upload = uploads_of(user).select_for_update().filter(pk=upload_id).first()
            if upload is None:
                raise NotFound(_("No upload with this id."))
            if upload.attached_at is not None:
                raise UploadAlreadyAttached()
            if not upload.is_finished:
                raise UploadIncomplete()
            with received_bytes(upload) as source:
                try:
                    yield source
                except InvalidInput:
                    source.seek(0)
                    if not _attachable_at_all(source):
                        useless = upload
                    raise
            upload.attached_at = timezone.now()
            upload.save(update_fields=["attached_at", "updated_at"])
            # The attachment holds its own (inspected, re-encoded) copy now.
            transaction.on_commit(lambda: _remove(upload))
    finally:
        if useless is not None:
            Upload.objects.filter(pk=useless.pk, attached_at__isnull=True).delete()
            _remove(useless)


def _attachable_at_all(source: File) -> bool:
    """Whether some attachment kind would take the bytes of `source`."""
    try:
        files.inspect_upload(source, (files.IMAGE, files.PDF, files.AUDIO))
    except InvalidInput:
        return False
    return True


def purge_expired() -> int:
    """Delete uploads past their expiry, attached or not, with their bytes; returns how many."""
    now = timezone.now()
    purged = 0
    for upload in Upload.objects.filter(expires_at__lte=now).only("pk"):
        # Conditional: a PATCH that landed meanwhile moved the expiry and keeps the upload.
        deleted, _detail = Upload.objects.filter(pk=upload.pk, expires_at__lte=now).delete()
        if deleted:
            _remove(upload)
            purged += 1
    return purged


def _remove(upload: Upload) -> None:
    storage.delete_prefix(pieces_prefix(upload))


@contextmanager
def attachment_file(user: Any, data: dict[str, Any]) -> Iterator[Any]:
    """The file an attachment request names: its multipart `file`, or the finished upload
    `upload_id` (consumed if the block completes, see `finished_upload`)."""
    if data.get("upload_id") is None:
        yield data["file"]
        return
    with finished_upload(user, data["upload_id"]) as file:
        yield file


def upload_id_field() -> serializers.UUIDField:
    """The `upload_id` of an attachment endpoint's JSON body, as the spec describes it."""
    return serializers.UUIDField(
        help_text=(
            "A finished resumable upload of yours (`uploads/`, tus). It is inspected like a "
            "multipart `file` (errors about its content name `file`) and used up: attaching "
            "it again is a 409 `upload_already_attached`; an unfinished one a 409 "
            "`upload_incomplete`."
        )
    )
