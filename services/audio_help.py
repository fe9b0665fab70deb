"""Audio help: a short recording that explains a service or a category, one per language.

For people who read little or not at all, a phone plays it beside the text. Recordings are
uploaded by staff in the admin (inline on the service or the category), inspected like any
other audio (type by content, size cap, duration), kept in private storage and handed out as
short-lived signed links. The API shows, in the detail of a service and in the category
list, the recording in the answer's language, else the Vietnamese one, else nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Model, Prefetch, QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import ErrorDetail

from common import audit, files
from common.exceptions import InvalidInput
from common.i18n import DEFAULT_LANGUAGE, validate_language_code
from services.models import AudioHelp, PublicService, ServiceCategory

# A short explanation, not a lecture: also the cap of every voice note.
MAX_SECONDS = 300
PREFETCH_ATTRIBUTE = "audio_help_here"


def max_seconds() -> int:
    return min(MAX_SECONDS, settings.AUDIO_MAX_SECONDS)


def inspect_audio(upload: Any) -> files.InspectedFile:
    """The upload as stored audio help, or a 400/413 on `file` (`unsupported_file_type`,
    `audio_too_long`, `file_too_large`), in the shape of every other upload error."""
    if isinstance(upload, files.InspectedFile):
        inspected = upload
    else:
        inspected = files.inspect_upload(upload, {files.AUDIO})
    if inspected.kind != files.AUDIO:
        raise InvalidInput(
            {
                "file": [
                    ErrorDetail(
                        _("The file's content is not of a type accepted here."),
                        code="unsupported_file_type",
                    )
                ]
            }
        )
    if inspected.duration is not None and inspected.duration > max_seconds():
        raise InvalidInput(
            {
                "file": [
                    ErrorDetail(
                        _("The recording is longer than %(seconds)s seconds.")
                        % {"seconds": max_seconds()},
                        code="audio_too_long",
                    )
                ]
            }
        )
    return inspected


def _parent_filter(parent: PublicService | ServiceCategory) -> dict[str, Any]:
    if isinstance(parent, PublicService):
        return {"service": parent}
    return {"category": parent}


def attach_audio_help(
    actor: Any, parent: PublicService | ServiceCategory, *, language: str, upload: Any
) -> AudioHelp:
    """Give `parent` (a service or a category) its recording in `language`, replacing the
    one it had in that language.

    The upload is inspected first (audio only, at most `MAX_SECONDS`); files are written
    only once the checks have passed and removed again if the row is not committed; a
    replaced file is removed after commit. Touches the parent's `updated_at`, so that phones
    and ETags see the change. Audited as `audio_help.attached`.
    """
    validate_language_code(language)
    inspected = inspect_audio(upload)
    stored: tuple[str, ...] = ()
    try:
        with transaction.atomic():
            parent = type(parent)._default_manager.select_for_update().get(pk=parent.pk)
            audio = (
                AudioHelp.objects.select_for_update()
                .filter(**_parent_filter(parent), language=language)
                .first()
            )
            replaced: tuple[str, ...] = ()
            if audio is None:
                audio = AudioHelp(**_parent_filter(parent), language=language)
            else:
                replaced = (audio.storage_name, audio.preview_storage_name)
            stored = files.store(inspected)
            audio.content_type = inspected.content_type
            audio.size = inspected.size
            audio.name = inspected.name
            audio.storage_name = stored[0]
            audio.preview_storage_name = stored[1]
            audio.duration = float(inspected.duration or 0)
            audio.uploaded_by = actor if getattr(actor, "is_authenticated", False) else None
            audio.save()
            parent.save(update_fields=["updated_at"])
            audit.record(
                actor,
                "audio_help.attached",
                parent,
                details={
                    "audio_help": str(audio.pk),
                    "language": language,
                    "duration": round(audio.duration, 1),
                    "replaced": bool(replaced),
                },
            )
            if replaced:
                transaction.on_commit(lambda: files.delete_stored(*replaced))
    except BaseException:
        files.delete_stored(*stored)
        raise
    return audio


def remove_audio_help(actor: Any, audio: AudioHelp) -> None:
    """Delete a recording; its file goes after commit. Audited as `audio_help.removed`."""
    with transaction.atomic():
        audio = AudioHelp.objects.select_for_update().get(pk=audio.pk)
        parent: Model = audio.service or audio.category  # type: ignore[assignment]
        names = (audio.storage_name, audio.preview_storage_name)
        audit.record(
            actor,
            "audio_help.removed",
            parent,
            details={"audio_help": str(audio.pk), "language": audio.language},
        )
        audio.delete()
        parent.save(update_fields=["updated_at"])
        transaction.on_commit(lambda: files.delete_stored(*names))


# -- reads -------------------------------------------------------------------------------------


def with_audio_help(queryset: QuerySet[Any], language: str) -> QuerySet[Any]:
    """`queryset` (services or categories) with the recordings a client answering in
    `language` may need: that language's and the Vietnamese one (one more query)."""
    return queryset.prefetch_related(
        Prefetch(
            "audio_help",
            queryset=AudioHelp.objects.filter(language__in={language, DEFAULT_LANGUAGE}).only(
                "id",
                "service_id",
                "category_id",
                "language",
                "duration",
                "content_type",
                "name",
                "storage_name",
                "preview_storage_name",
            ),
            to_attr=PREFETCH_ATTRIBUTE,
        )
    )


def pick_audio_help(recordings: Iterable[AudioHelp], language: str) -> AudioHelp | None:
    """The recording in `language`, else the Vietnamese one, else None."""
    by_language = {audio.language: audio for audio in recordings}
    return by_language.get(language) or by_language.get(DEFAULT_LANGUAGE)


def prefetched_audio_help(obj: Any, language: str) -> AudioHelp | None:
    """What `with_audio_help` fetched for `obj`; None when it was not asked for."""
    recordings = getattr(obj, PREFETCH_ATTRIBUTE, None)
    return pick_audio_help(recordings, language) if recordings is not None else None
