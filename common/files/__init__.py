"""Uploaded files: type by content, size caps, clean images, private storage, signed links.

Nothing here trusts the client: neither the file name nor the declared Content-Type decides
what a file is. Images are decoded and re-encoded (which drops EXIF/GPS and anything hidden
after the pixels), audio is parsed far enough to know its duration, and a PDF must at least
look like one from both ends. Stored files get random names in a storage with no URL of its
own; they leave the server only through `signed_url` links that expire after a few minutes.
"""

import io
import re
import time
import unicodedata
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import filetype
from django.apps import apps
from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from mutagen.aac import AAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4, Atoms
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject
from rest_framework.exceptions import ErrorDetail

from common import audit
from common.exceptions import InvalidInput
from common.files.storage import PrivateStorage as PrivateStorage
from common.files.storage import private_storage as private_storage

IMAGE = "image"
PDF = "pdf"
AUDIO = "audio"
KINDS = frozenset({IMAGE, PDF, AUDIO})

IMAGE_MAX_SIDE = 2560
IMAGE_QUALITY = 85
PREVIEW_MAX_SIDE = 320
PREVIEW_QUALITY = 75
PREVIEW_CONTENT_TYPE = "image/jpeg"

Variant = Literal["original", "preview"]
_DOWNLOAD_SALT = "common.files.download"
# Links issued within the same window are identical, so a response listing them renders the
# same bytes and keeps its ETag (a 304 then hands back links that still work).
LINK_WINDOW_SECONDS = 60

# Backstop for any Pillow use in the process; `inspect_upload` also checks the setting itself
# so a test or a deployment can lower it at run time.
Image.MAX_IMAGE_PIXELS = settings.FILE_MAX_IMAGE_PIXELS


class FileTooLarge(InvalidInput):
    """A 413 in the validation-error shape, so the client still learns which field it was."""

    status_code = 413


@dataclass(frozen=True)
class InspectedFile:
    """An upload that passed inspection, ready to be stored as it is."""

    kind: str  # IMAGE, PDF or AUDIO
    content_type: str
    extension: str
    content: bytes  # re-encoded for images, exactly as uploaded otherwise
    name: str  # the client's name, sanitised, with the extension of the detected type
    preview: bytes | None = None
    duration: float | None = None

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class _Format:
    kind: str
    content_type: str
    extension: str


_FORMATS = {
    "jpeg": _Format(IMAGE, "image/jpeg", "jpg"),
    "png": _Format(IMAGE, "image/png", "png"),
    "webp": _Format(IMAGE, "image/webp", "webp"),
    "pdf": _Format(PDF, "application/pdf", "pdf"),
    "mp3": _Format(AUDIO, "audio/mpeg", "mp3"),
    "aac": _Format(AUDIO, "audio/aac", "aac"),
    "m4a": _Format(AUDIO, "audio/mp4", "m4a"),
    "ogg": _Format(AUDIO, "audio/ogg", "ogg"),
    "amr": _Format(AUDIO, "audio/amr", "amr"),
    "amr-wb": _Format(AUDIO, "audio/amr-wb", "awb"),
}
_FILETYPE_MIMES = {
    "image/jpeg": "jpeg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "audio/mpeg": "mp3",
    "audio/aac": "aac",
    "audio/ogg": "ogg",
}
_PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


def _file_error(message: Any, code: str) -> InvalidInput:
    return InvalidInput({"file": [ErrorDetail(str(message), code=code)]}, code=code)


def _unsupported() -> InvalidInput:
    return _file_error(
        _("The file's content is not of a type accepted here."), "unsupported_file_type"
    )


_UNREADABLE = {
    IMAGE: _("The file looks like an image but cannot be read."),
    PDF: _("The file looks like a PDF document but cannot be read."),
    AUDIO: _("The file looks like a sound recording but cannot be read."),
}


def _unreadable(kind: str) -> InvalidInput:
    return _file_error(_UNREADABLE[kind], "unsupported_file_type")


def _too_large(limit: int) -> FileTooLarge:
    return FileTooLarge(
        {
            "file": [
                ErrorDetail(
                    str(_("The file is larger than %(mb)s MB.") % {"mb": round(limit / 2**20, 1)}),
                    code="file_too_large",
                )
            ]
        }
    )


def size_limit(kind: str) -> int:
    """The configured byte cap for one kind of file."""
    return {
        IMAGE: settings.FILE_MAX_IMAGE_BYTES,
        PDF: settings.FILE_MAX_PDF_BYTES,
        AUDIO: settings.FILE_MAX_AUDIO_BYTES,
    }[kind]


def inspect_upload(
    uploaded_file: Any, allowed: Iterable[str], max_bytes: int | None = None
) -> InspectedFile:
    """Decide what an upload really is and prepare what will be stored.

    `allowed` names the kinds accepted here (`image`, `pdf`, `audio`); `max_bytes` may lower
    the per-kind caps from the settings. Raises, all on the field `file`: a 400
    `unsupported_file_type` (not an accepted type, or forged), `image_too_large` (too many
    pixels: a decompression bomb) or `audio_too_long`, or a 413 `file_too_large`.
    """
    kinds = set(allowed)
    if not kinds or not kinds <= KINDS:
        raise ValueError(f"allowed must be a non-empty subset of {sorted(KINDS)}")

    def cap(kind: str) -> int:
        return size_limit(kind) if max_bytes is None else min(size_limit(kind), max_bytes)

    data = _read_at_most(uploaded_file, max(cap(kind) for kind in kinds))
    fmt_key = _sniff(data)
    if fmt_key is None or _FORMATS[fmt_key].kind not in kinds:
        raise _unsupported()
    fmt = _FORMATS[fmt_key]
    if len(data) > cap(fmt.kind):
        raise _too_large(cap(fmt.kind))
    client_name = getattr(uploaded_file, "name", "") or ""

    if fmt.kind == IMAGE:
        content, preview = _clean_image(data, _PILLOW_FORMATS[fmt_key])
        jpeg = _FORMATS["jpeg"]  # every image is stored re-encoded as JPEG
        name = sanitize_filename(client_name, jpeg.extension)
        return InspectedFile(IMAGE, jpeg.content_type, jpeg.extension, content, name, preview)
    name = sanitize_filename(client_name, fmt.extension)
    if fmt.kind == PDF:
        _check_pdf(data)
        return InspectedFile(PDF, fmt.content_type, fmt.extension, data, name)
    duration = _audio_duration(data, fmt_key)
    if duration > settings.AUDIO_MAX_SECONDS:
        raise _file_error(
            _("The recording is longer than %(seconds)s seconds.")
            % {"seconds": settings.AUDIO_MAX_SECONDS},
            "audio_too_long",
        )
    return InspectedFile(AUDIO, fmt.content_type, fmt.extension, data, name, duration=duration)


def _read_at_most(uploaded_file: Any, limit: int) -> bytes:
    # The declared size is only a shortcut: the bytes read are what counts.
    declared = getattr(uploaded_file, "size", None)
    if isinstance(declared, int) and declared > limit:
        raise _too_large(limit)
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    buffer = bytearray()
    chunks = uploaded_file.chunks() if hasattr(uploaded_file, "chunks") else [uploaded_file.read()]
    for chunk in chunks:
        buffer += chunk
        if len(buffer) > limit:
            raise _too_large(limit)
    return bytes(buffer)


def _sniff(data: bytes) -> str | None:
    # filetype misses AMR-WB, ISO media other than `ftypM4A` (Android records `mp42`/`isom`)
    # and some MPEG audio frame headers (MPEG-1 with CRC, MPEG-2.5); the parsers below
    # confirm every guess anyway.
    if data.startswith(b"#!AMR\n"):
        return "amr"
    if data.startswith(b"#!AMR-WB\n"):
        return "amr-wb"
    if data[4:8] == b"ftyp":
        return "m4a"
    guess = filetype.guess(data)
    if guess is not None and guess.mime in _FILETYPE_MIMES:
        return _FILETYPE_MIMES[guess.mime]
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE6 == 0xE2:
        return "mp3"  # an MPEG audio frame sync with layer III
    return None


def _clean_image(data: bytes, pillow_format: str) -> tuple[bytes, bytes]:
    max_pixels = settings.FILE_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow only warns between one and two times MAX_IMAGE_PIXELS.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[pillow_format]) as opened:
                if opened.width * opened.height > max_pixels:
                    raise Image.DecompressionBombError("too many pixels")
                if pillow_format == "JPEG":
                    # Let libjpeg decode at a reduced scale: far less memory for big photos.
                    opened.draft("RGB", (IMAGE_MAX_SIDE, IMAGE_MAX_SIDE))
                opened.load()
                image = _flatten(ImageOps.exif_transpose(opened))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _file_error(_("The image has too many pixels."), "image_too_large") from exc
    except Exception as exc:
        # Whatever a malformed image makes the decoder raise, the answer is the same.
        raise _unreadable(IMAGE) from exc

    image.thumbnail((IMAGE_MAX_SIDE, IMAGE_MAX_SIDE), Image.Resampling.LANCZOS)
    preview = image.copy()
    preview.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.Resampling.LANCZOS)
    return _jpeg(image, IMAGE_QUALITY), _jpeg(preview, PREVIEW_QUALITY)


def _flatten(image: Image.Image) -> Image.Image:
    """Plain RGB pixels with no metadata: transparency goes onto white."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        image = image.convert("L")
    flat = image.convert("RGB")
    # A fresh image carries no EXIF, XMP, ICC profile or comments into the encoder.
    clean = Image.new("RGB", flat.size)
    clean.paste(flat)
    return clean


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


_PDF_HEADER = re.compile(rb"%PDF-\d\.\d")


def _check_pdf(data: bytes) -> None:
    tail = data[-1024:]
    if not _PDF_HEADER.match(data) or b"%%EOF" not in tail or b"startxref" not in tail:
        raise _unreadable(PDF)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # Its content cannot be inspected.
            raise _unreadable(PDF)
        active = _pdf_active_content(reader.trailer)
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError):
        raise _unreadable(PDF) from None
    if active:
        raise _file_error(
            _("PDF documents with scripts, launch actions or embedded files are not accepted."),
            "pdf_active_content",
        )


# A PDF with more objects than this is not what a citizen scans at a counter.
_PDF_MAX_OBJECTS = 50_000
_PDF_ACTIONS = {"/JavaScript", "/Launch"}


def _pdf_active_content(trailer: Any) -> bool:
    """Whether any object reachable from the trailer is JavaScript, a launch action or an
    embedded file (walked iteratively, each object once)."""
    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [trailer]
    visited = 0
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        visited += 1
        if visited > _PDF_MAX_OBJECTS:
            raise ValueError("too many objects")
        if isinstance(item, DictionaryObject):
            if "/JS" in item or item.get("/S") in _PDF_ACTIONS:
                return True
            if item.get("/Type") == "/EmbeddedFile" or "/EmbeddedFiles" in item:
                return True
            if "/JavaScript" in item or "/EF" in item:
                return True
            stack.extend(value for name, value in item.items() if name != "/Parent")
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return False


# Payload bytes after the TOC byte by frame type (RFC 4867 §5.3): AMR-NB modes 0–7 and SID
# (8), AMR-WB modes 0–8 and SID (9); NO_DATA (15, and 14 "speech lost" in WB) is the TOC
# byte alone. Other frame types are reserved and never occur in a real recording.
_AMR_PAYLOAD_BYTES = {
    "amr": {**dict(enumerate((12, 13, 15, 17, 19, 20, 26, 31, 5))), 15: 0},
    "amr-wb": {**dict(enumerate((17, 23, 32, 36, 40, 46, 50, 58, 60, 5))), 14: 0, 15: 0},
}
_AMR_MAGIC = {"amr": b"#!AMR\n", "amr-wb": b"#!AMR-WB\n"}
AMR_FRAME_SECONDS = 0.02


def amr_duration(data: bytes, stop_after: float | None = None) -> float:
    """Seconds of single-channel AMR-NB or AMR-WB audio in the RFC 4867 storage format.

    Every frame is walked: each TOC byte must name a known frame type and the frames must
    end exactly at the end of the file. Raises ValueError otherwise. With `stop_after`, the
    walk ends as soon as the audio is known to be longer (and returns that much).
    """
    fmt = "amr-wb" if data.startswith(_AMR_MAGIC["amr-wb"]) else "amr"
    if not data.startswith(_AMR_MAGIC[fmt]):
        raise ValueError("not an AMR file")
    sizes = _AMR_PAYLOAD_BYTES[fmt]
    position, frames = len(_AMR_MAGIC[fmt]), 0
    while position < len(data):
        toc = data[position]
        # The first bit and the last two are padding in the storage format and must be 0.
        frame_type = (toc >> 3) & 0x0F
        if toc & 0x83 or frame_type not in sizes:
            raise ValueError(f"bad AMR frame header at byte {position}")
        position += 1 + sizes[frame_type]
        frames += 1
        if stop_after is not None and frames * AMR_FRAME_SECONDS > stop_after:
            # 10 MB of one-byte NO_DATA frames would otherwise be millions of steps.
            return frames * AMR_FRAME_SECONDS
    if position != len(data) or frames == 0:
        raise ValueError("truncated or empty AMR stream")
    return frames * AMR_FRAME_SECONDS


def _mp4_handlers(data: bytes) -> list[bytes]:
    stream = io.BytesIO(data)
    atoms = Atoms(stream)
    handlers = []
    for trak in atoms[b"moov"].findall(b"trak"):
        ok, hdlr = trak[b"mdia", b"hdlr"].read(stream)
        if ok:
            handlers.append(hdlr[8:12])
    return handlers


def _stream_info(parser: Any, data: bytes) -> Any:
    # mutagen's stubs declare `info` as None on the base class; each parser sets it.
    return parser(io.BytesIO(data)).info


def _audio_duration(data: bytes, fmt_key: str) -> float:
    try:
        if fmt_key in _AMR_MAGIC:
            length = amr_duration(data, stop_after=settings.AUDIO_MAX_SECONDS)
        elif fmt_key == "m4a":
            # Audio only: a video (or a HEIC photo) in the same container is not a voice note.
            handlers = _mp4_handlers(data)
            info = _stream_info(MP4, data)
            if b"soun" not in handlers or b"vide" in handlers or not info.codec.startswith("mp4a"):
                raise ValueError("not an AAC audio track")
            length = info.length
        elif fmt_key == "ogg":
            try:
                length = _stream_info(OggOpus, data).length
            except Exception:
                length = _stream_info(OggVorbis, data).length
        elif fmt_key == "mp3":
            length = _stream_info(MP3, data).length
        else:
            length = _stream_info(AAC, data).length
    except Exception as exc:
        # Parsers of untrusted bytes fail in many ways; all of them mean "not this format".
        raise _unreadable(AUDIO) from exc
    if not length or length <= 0:
        raise _unreadable(AUDIO)
    return float(length)


_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')


def sanitize_filename(name: str, extension: str, max_length: int = 120) -> str:
    """A display name safe in any file system and header: the client's stem, our extension."""
    name = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, _extension = name.rpartition(".")
    stem = stem if dot else name
    stem = _UNSAFE_NAME_CHARS.sub("_", stem).strip(" ._")
    stem = "".join(c for c in stem if unicodedata.category(c)[0] != "C")
    stem = stem[: max_length - len(extension) - 1].rstrip(" ._") or "file"
    return f"{stem}.{extension}"


def random_storage_name(extension: str) -> str:
    """A fresh unguessable name; the first two hex digits shard the directory."""
    token = uuid.uuid4().hex
    return f"{token[:2]}/{token}.{extension}"


def store(inspected: InspectedFile) -> tuple[str, str]:
    """Save the file (and its preview) under random names: (name, preview name or "")."""
    saved: list[str] = []
    try:
        saved.append(
            private_storage.save(
                random_storage_name(inspected.extension), ContentFile(inspected.content)
            )
        )
        if inspected.preview is not None:
            saved.append(
                private_storage.save(random_storage_name("jpg"), ContentFile(inspected.preview))
            )
    except BaseException:
        delete_stored(*saved)
        raise
    return saved[0], saved[1] if len(saved) > 1 else ""


def delete_stored(*names: str) -> None:
    """Remove stored files, ignoring the blank names of missing previews."""
    for name in names:
        if name:
            private_storage.delete(name)


def attach_inspected(
    model: Any, inspected: InspectedFile, *, owner: Any, owner_field: str, kind: str, user: Any
) -> Any:
    """Write `inspected` and create its `model` row (a StoredFile) on `owner`, inside the
    caller's transaction and after its checks. The owner's `updated_at` moves (sync and ETags
    follow its attachment list) and the attach is audited. Files written here are removed
    again if the row cannot be created; after that the caller removes them
    (`delete_stored(*stored_names(row))`) if its transaction does not commit."""
    stored = store(inspected)
    try:
        attachment = model.objects.create(
            **{owner_field: owner},
            kind=kind,
            content_type=inspected.content_type,
            size=inspected.size,
            name=inspected.name,
            storage_name=stored[0],
            preview_storage_name=stored[1],
            uploaded_by=user,
        )
        owner.save(update_fields=["updated_at"])
        audit.record(
            user,
            "attach",
            owner,
            agency_id=owner.agency_id,
            details={"attachment": str(attachment.pk), "kind": kind},
        )
    except BaseException:
        delete_stored(*stored)
        raise
    return attachment


def stored_names(attachment: Any) -> tuple[str, str]:
    """The stored file and preview names of an attachment row ("" for none)."""
    if attachment is None:
        return ("", "")
    return (attachment.storage_name, attachment.preview_storage_name)


def _now() -> float:
    return time.time()


class _DownloadSigner(signing.TimestampSigner):
    def __init__(self, *args: Any, window: int = LINK_WINDOW_SECONDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = max(1, window)

    def timestamp(self) -> str:
        now = int(_now())
        return signing.b62_encode(now - now % self.window)


def signed_url(
    request: Any,
    attachment: Any,
    variant: Variant = "original",
    ttl: int | None = None,
    window: int | None = None,
) -> str | None:
    """A short-lived download link for a stored attachment, or None if the variant is missing.

    `attachment` is a model instance with `storage_name`, `preview_storage_name`,
    `content_type` and `name`. The link itself is the credential, so hand it only to someone
    who may see the parent object. It names the model and the row, not the file: a deleted
    attachment stops downloading at once.

    Links are stamped at the start of their `window` (default `LINK_WINDOW_SECONDS`): the
    same link for every request within it, so a body that shows one keeps its bytes (and its
    ETag) that long; the link lives at least `ttl` and at most `ttl + window`.
    """
    if variant not in ("original", "preview"):
        raise ValueError(f"unknown variant {variant!r}")
    if variant == "preview" and not attachment.preview_storage_name:
        return None
    ttl = settings.DOWNLOAD_URL_TTL_SECONDS if ttl is None else int(ttl)
    payload: list[Any] = [attachment._meta.label_lower, str(attachment.pk), variant[0], ttl]
    if window is not None and window != LINK_WINDOW_SECONDS:
        payload.append(int(window))
    token = _DownloadSigner(
        salt=_DOWNLOAD_SALT, window=LINK_WINDOW_SECONDS if window is None else window
    ).sign_object(payload)
    path = reverse("file-download", args=[token])
    return request.build_absolute_uri(path) if request is not None else path


class DownloadLinkExpired(Exception):
    """A genuine link used after its lifetime."""


@dataclass(frozen=True)
class Download:
    storage_name: str
    content_type: str
    filename: str


def resolve_download(token: str) -> Download | None:
    """What a signed token points to; None when it was tampered with or the file is gone.

    Raises DownloadLinkExpired for a genuine token past its lifetime.
    """
    signer = _DownloadSigner(salt=_DOWNLOAD_SALT)
    try:
        label, pk, variant, ttl, *rest = signer.unsign_object(token)
        window = int(rest[0]) if rest else LINK_WINDOW_SECONDS
        model = apps.get_model(label)
    except (signing.BadSignature, ValueError, TypeError, LookupError):
        return None
    try:
        # Stamped at the start of its window, a link lives at least `ttl` after it was issued.
        signer.unsign_object(token, max_age=ttl + window)
    except signing.SignatureExpired as exc:
        raise DownloadLinkExpired from exc
    attachment = model._default_manager.filter(pk=pk).first()
    if attachment is None:
        return None
    if variant == "p":
        if not attachment.preview_storage_name:
            return None
        stem = attachment.name.rsplit(".", 1)[0]
        return Download(
            attachment.preview_storage_name, PREVIEW_CONTENT_TYPE, f"{stem}-preview.jpg"
        )
    return Download(attachment.storage_name, attachment.content_type, attachment.name)


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 one (RFC 6266)."""
    # NFKD splits Vietnamese tone marks off their letters; đ has no decomposition.
    plain = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    ascii_name = plain.encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r'[^\w.\- ]+|["\\]', "_", ascii_name).strip() or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
