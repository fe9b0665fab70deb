"""The translator's page in the admin: `admin/translations/`.

Lists the entries of every registered translatable (`common.i18n.translations`) for one target
language, with the Vietnamese source beside the current translation; each entry is saved on
its own (text and reviewed mark) through `common.i18n.translations.save_translation`. Open to
superusers and to staff holding `services.can_translate`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from common.i18n import DEFAULT_LANGUAGE, translations
from common.models import Language

PAGE_SIZE = 20
TEXT_PREFIX = "text:"


def may_translate(user: Any) -> bool:
    """Superusers, and active staff with the translator permission."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return bool(user.is_superuser or user.has_perm(translations.TRANSLATE_PERMISSION))


def _target_languages() -> list[Language]:
    # Every row but the source, enabled or not: texts may be prepared before a language is
    # switched on.
    return list(Language.objects.exclude(code=DEFAULT_LANGUAGE).order_by("position", "code"))


def _choice(value: str | None, allowed: list[str], default: str) -> str:
    return value if value in allowed else default


def _attach_errors(entry: translations.Entry, error: ValidationError) -> None:
    """Put the messages of `error` on the texts they are about, the rest on the entry."""
    if not hasattr(error, "error_dict"):
        entry.errors = [str(message) for message in error.messages]
        return
    by_key = {text.key: text for text in entry.texts}
    for key, errors in error.error_dict.items():
        found = [str(message) for message in ValidationError(errors).messages]
        if key in by_key:
            by_key[key].errors = found
        else:
            entry.errors.extend(found)


@require_http_methods(["GET", "POST"])
def translations_view(request: HttpRequest) -> HttpResponse:
    if not may_translate(request.user):
        raise PermissionDenied
    languages = _target_languages()
    codes = [language.code for language in languages]
    types = [candidate.name for candidate in translations.translatables()]
    params = request.POST if request.method == "POST" else request.GET
    language = _choice(params.get("language"), codes, codes[0] if codes else "")
    show = _choice(
        params.get("show"), list(translations.Show.values), translations.Show.UNTRANSLATED
    )
    type_name = _choice(params.get("type"), types, "")
    page_number = params.get("page") or "1"

    failed: translations.Entry | None = None
    if request.method == "POST":
        if request.POST.get("language") not in codes:
            # Never save into another language than the one the translator was shown.
            return HttpResponseBadRequest(
                _("Choose one of the listed languages: Vietnamese is the source.")
            )
        key = request.POST.get("key", "")
        entry_type = request.POST.get("entry_type", "")
        texts: dict[str, str] = {
            name[len(TEXT_PREFIX) :]: request.POST.get(name, "")
            for name in request.POST
            if name.startswith(TEXT_PREFIX)
        }
        reviewed = request.POST.get("reviewed") == "on"
        try:
            saved = translations.save_translation(
                request.user, entry_type, key, language, texts, reviewed=reviewed
            )
        except translations.EntryNotFound:
            messages.error(request, _("That entry no longer exists."))
        except ValidationError as error:
            # Shown again with what the translator typed, and why it was refused.
            candidate = translations.translatable(entry_type)
            current = None
            if candidate is not None:
                current = next((e for e in candidate.entries(language) if e.key == key), None)
            if current is not None:
                for text in current.texts:
                    if text.key in texts:
                        text.target = texts[text.key]
                _attach_errors(current, error)
                failed = current
            else:
                messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("Saved “%(title)s” (%(language)s): %(state)s.")
                % {"title": saved.title, "language": language, "state": saved.status_label},
            )
        if failed is None:
            query = {"language": language, "show": show, "page": page_number}
            if type_name:
                query["type"] = type_name
            return HttpResponseRedirect(f"{reverse('admin-translations')}?{urlencode(query)}")

    entries = (
        translations.entries(language, show=show, types=[type_name] if type_name else [])
        if language
        else []
    )
    if failed is not None:
        # The refused entry stays on the page even if the filter would now hide it.
        entries = [failed if (e.type, e.key) == (failed.type, failed.key) else e for e in entries]
        if not any((e.type, e.key) == (failed.type, failed.key) for e in entries):
            entries.insert(0, failed)
    page = Paginator(entries, PAGE_SIZE).get_page(page_number)
    context = {
        **admin.site.each_context(request),
        "title": _("Translations"),
        "languages": languages,
        "language": language,
        "language_row": next((row for row in languages if row.code == language), None),
        "types": [(candidate.name, candidate.label) for candidate in translations.translatables()],
        "type_name": type_name,
        "shows": translations.Show.choices,
        "show": show,
        "page": page,
        "failed": failed,
        "text_prefix": TEXT_PREFIX,
        "query": urlencode({"language": language, "show": show, "type": type_name}),
    }
    status = 400 if failed is not None else 200
    return TemplateResponse(request, "admin/translations/index.html", context, status=status)
