"""Where stored files live: local disk (the default) or an S3-compatible object store.

Settings' `STORAGES["private"]` names the backend (`STORAGE_BACKEND=local|s3`). Every file
the project keeps (attachments, previews, audio help, the pieces of resumable uploads) goes
through `private_storage`, which looks the backend up on each use, so a test or a process
that changes `STORAGES` or `MEDIA_ROOT` is followed at once.

Neither backend hands out URLs: files leave only through the signed links of
`common.files.signed_url`, streamed by the app (`open_stream`), so the download keeps its
`Content-Disposition`, `nosniff` and sandbox headers and every object stays private.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

STORAGE_ALIAS = "private"
_STREAM_CHUNK = 64 * 1024


class PrivateStorage(FileSystemStorage):
    """Files under MEDIA_ROOT/private: no URL, never served by a static or media route."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(file_permissions_mode=0o640, directory_permissions_mode=0o750)

    @property  # type: ignore[override]
    def base_location(self) -> str:
        # Read per use: MEDIA_ROOT may change (tests give each test its own).
        return os.path.join(settings.MEDIA_ROOT, "private")

    @property  # type: ignore[override]
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise NotImplementedError("private files leave only through common.files.signed_url")


class PrivateS3Storage(S3Storage):
    """A private bucket (or a prefix of one) on any S3-compatible store; no URLs either."""

    def url(self, name: str, parameters: Any = None, expire: Any = None, http_method: Any = None):  # type: ignore[override]
        raise NotImplementedError("private files leave only through common.files.signed_url")

    def key(self, name: str) -> str:
        """The object key of a storage name (the configured `location` prefix added)."""
        return str(self._normalize_name(clean_name(name)))


class _PrivateStorageProxy:
    """The configured private storage, looked up on every use (see the module's docstring)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(current(), name)


def current() -> Storage:
    return storages[STORAGE_ALIAS]


private_storage: Any = _PrivateStorageProxy()


@dataclass
class StoredStream:
    """An open stored file to send: its chunks (closing the file when they are closed or
    used up) and, when known, its size in bytes."""

    chunks: Iterator[bytes]
    size: int | None


def _chunks(read: Any, close: Any) -> Iterator[bytes]:
    try:
        while piece := read(_STREAM_CHUNK):
            yield piece
    finally:
        close()


def open_stream(name: str) -> StoredStream:
    """Open `name` for streaming to a client without reading it all first.

    S3 objects are read straight from the GET response body in chunks (django-storages'
    own file object downloads the whole object before the first byte). Raises
    FileNotFoundError when there is no such file.
    """
    storage = current()
    if isinstance(storage, PrivateS3Storage):
        client = storage.connection.meta.client
        try:
            answer = client.get_object(Bucket=storage.bucket_name, Key=storage.key(name))
        except client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(name) from exc
        body = answer["Body"]
        return StoredStream(_chunks(body.read, body.close), int(answer["ContentLength"]))
    handle = storage.open(name, "rb")
    return StoredStream(_chunks(handle.read, handle.close), handle.size)


def write(name: str, content: Any) -> None:
    """Write `content` (a Django File) under exactly `name`, replacing what was there.

    `Storage.save` would pick another name on a local disk when the name is taken; the
    pieces of a resumable upload are named by their offset and must keep it.
    """
    storage = current()
    if storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, content)
    if saved != name:
        storage.delete(saved)
        raise OSError(f"storage wrote {saved!r} instead of {name!r}")


def delete_prefix(prefix: str) -> None:
    """Delete every file under the folder `prefix` (files only; folders left empty)."""
    storage = current()
    try:
        folders, names = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for folder in folders:
        delete_prefix(f"{prefix}/{folder}")
    for name in names:
        storage.delete(f"{prefix}/{name}")
    if isinstance(storage, FileSystemStorage):
        # An empty local folder per upload would pile up; S3 has no folders to remove.
        with contextlib.suppress(OSError):
            os.rmdir(storage.path(prefix))
