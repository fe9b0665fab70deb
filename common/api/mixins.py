"""Small pieces every API view shares."""

import functools
import hashlib
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.template.response import SimpleTemplateResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.request import Request
from rest_framework.response import Response

from common.i18n import (
    DEFAULT_LANGUAGE,
    enabled_languages,
    gettext_language,
    negotiate_language,
    request_language,
)


class LanguageMixin:
    """Negotiates the response language once per request and answers in it.

    `?lang=` over `Accept-Language` over the user's `preferred_language`, then `vi`
    (`common.i18n.request_language`). The user is known only once DRF has authenticated the
    request, so the full negotiation runs in `initial()`, after authentication; errors of
    authentication, permissions and throttling come out in the language asked for by
    `?lang=` or `Accept-Language`. Django's own messages (validation errors) follow the
    negotiated language where Django has a catalog for it (vi, en), otherwise Vietnamese.
    Every response carries `Content-Language`.
    """

    def dispatch(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        # The negotiated language is this response's only: whatever the thread does next
        # (the next test, a task run eagerly) speaks the language it spoke before.
        with translation.override(translation.get_language()):
            response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
            # Rendered here, so that lazy texts in the body come out in that language too.
            if isinstance(response, SimpleTemplateResponse) and hasattr(
                response, "accepted_renderer"
            ):
                response.render()
        return response

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        translation.activate(gettext_language(_language_before_authentication(request)))
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if not _handles(self, request.method):
            # A method the view does not take is a 405 whatever `?lang=` says (DRF picks the
            # handler after `initial()`): the language is only that of the error message.
            request._negotiated_language = request_language(request, strict=False)  # type: ignore[attr-defined]
            translation.activate(gettext_language(request._negotiated_language))  # type: ignore[attr-defined]
            return
        try:
            language = request_language(request)
        except serializers.ValidationError:
            request._negotiated_language = request_language(request, strict=False)  # type: ignore[attr-defined]
            translation.activate(gettext_language(request._negotiated_language))  # type: ignore[attr-defined]
            raise
        request._negotiated_language = language  # type: ignore[attr-defined]
        translation.activate(gettext_language(language))

    def get_language(self) -> str:
        """The negotiated language of this request (never raises)."""
        request: Request = self.request  # type: ignore[attr-defined]
        language = request.__dict__.get("_negotiated_language")
        if language is None:
            # Asked before `initial()` finished (authentication failed, or a caller outside
            # the request cycle): what the client asked for, without the user's preference.
            language = _language_before_authentication(request)
        return language

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        context["language"] = self.get_language()
        return context

    def finalize_response(self, request, response: Response, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        response["Content-Language"] = self.get_language()
        patch_vary_headers(response, ("Accept-Language",))
        return response


def _handles(view: Any, method: str | None) -> bool:
    """Whether `view` has a handler for `method` (else DRF answers 405)."""
    name = (method or "").lower()
    return name in view.http_method_names and hasattr(view, name)


def _language_before_authentication(request: Any) -> str:
    # Reads no user: touching `request.user` here would authenticate too early.
    params = getattr(request, "query_params", None)
    if params is None:
        params = request.GET
    return negotiate_language(
        query=params.get("lang"),
        accept_language=request.META.get("HTTP_ACCEPT_LANGUAGE", ""),
        strict=False,
    )


class LanguageCodeField(serializers.CharField):
    """A language code that must be one of the enabled languages (`GET languages/`).

    Not a ChoiceField: the choices are rows of the Language table, which may change at any
    time, and the schema must not depend on the database.
    """

    default_error_messages = {"invalid_choice": _('"{input}" is not a valid choice.')}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 12)
        kwargs.setdefault("help_text", "A language code from `GET /api/v1/languages/`.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        code = super().to_internal_value(data)
        if code != DEFAULT_LANGUAGE and code not in enabled_languages():
            self.fail("invalid_choice", input=code)
        return code


FIELDS_PARAM = "fields"


def parse_fields(raw: str | None, allowed: list[str]) -> tuple[str, ...] | None:
    """The names of `?fields=a,b`, or None when absent or empty; a name that is not one of
    `allowed`, spelled exactly (no blanks, no empty name between commas), is a 400 — what the
    spec's enum allows and nothing else."""
    if not raw:
        return None
    names = raw.split(",")
    unknown = [name for name in dict.fromkeys(names) if name not in allowed]
    if unknown:
        message = _("Unknown field(s): %(unknown)s. Choose from: %(allowed)s.") % {
            "unknown": ", ".join(unknown),
            "allowed": ", ".join(allowed),
        }
        raise serializers.ValidationError({FIELDS_PARAM: [ErrorDetail(message, code="invalid")]})
    return tuple(dict.fromkeys(names))


# Kept whatever `?fields=` names: the spec requires it of every object that can be trimmed
# (so generated clients decode a trimmed answer), and a phone needs it to know which item a
# trimmed answer is about.
ALWAYS_KEPT_FIELDS = frozenset({"id"})


def trim_fields(item: Any, names: tuple[str, ...]) -> Any:
    """`item` with only the top-level keys in `names` (and `id`), in the serializer's order."""
    if not isinstance(item, dict):
        return item
    return {key: value for key, value in item.items() if key in names or key in ALWAYS_KEPT_FIELDS}


@functools.cache
def _field_names(serializer_class: type) -> tuple[str, ...]:
    """A serializer class's top-level field names (declared once, the same every request)."""
    return tuple(serializer_class().fields)


class FieldsMixin:
    """`?fields=a,b` keeps only the named top-level fields of each item, or of the object.

    Phones on slow links ask for what a screen shows. The names are checked against the
    view's serializer before any work is done; the sync envelope (`removed`, `server_time`)
    and the pagination links are never trimmed.
    """

    requested_fields: tuple[str, ...] | None = None
    _fields_trimmed = False

    def get_field_names(self) -> list[str]:
        """The top-level fields `?fields=` may name: those of the view's serializer."""
        return list(_field_names(self.get_serializer_class()))  # type: ignore[attr-defined]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        # Only a request that names fields pays for checking them.
        raw = request.query_params.get(FIELDS_PARAM) if request.method in ("GET", "HEAD") else None
        if raw:
            self.requested_fields = parse_fields(raw, self.get_field_names())

    def get_paginated_response(self, data: Any) -> Response:
        if self.requested_fields is not None:
            data = [trim_fields(item, self.requested_fields) for item in data]
            self._fields_trimmed = True
        return super().get_paginated_response(data)  # type: ignore[misc]

    def finalize_response(self, request, response, *args, **kwargs):  # type: ignore[no-untyped-def]
        names = self.requested_fields
        # Lists were trimmed item by item before the envelope was built; this is the object.
        if (
            names is not None
            and not self._fields_trimmed
            and response.status_code == 200
            and isinstance(response, Response)
        ):
            if isinstance(response.data, list):
                response.data = [trim_fields(item, names) for item in response.data]
            else:
                response.data = trim_fields(response.data, names)
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]


def entity_tag(content: bytes, language: str) -> str:
    """A strong ETag of a rendered body in its language: equal tags, equal bytes."""
    digest = hashlib.sha256(language.encode() + b"\n" + content).hexdigest()
    return f'"{digest[:32]}"'


def if_none_match(header: str, tag: str) -> bool:
    """Whether an `If-None-Match` header names `tag` (or is `*`), compared weakly (RFC 9110)."""
    tags = parse_etags(header) if header else []
    if tags == ["*"]:
        return True
    bare = tag.removeprefix("W/")
    return any(candidate.removeprefix("W/") == bare for candidate in tags)


def not_modified(response: HttpResponse) -> HttpResponseNotModified:
    """A 304 with no body, keeping the headers a cache needs to reuse what it holds."""
    reply = HttpResponseNotModified()
    for header in ("ETag", "Vary", "Content-Language", "Cache-Control", "Content-Location"):
        if header in response:
            reply[header] = response[header]
    return reply


class ETagMixin:
    """A GET that answers 200 carries a strong `ETag`; `If-None-Match` naming it (or `*`) is
    answered 304 with no body, so a phone re-reads a page it holds for a few bytes.

    The tag hashes the rendered body and its `Content-Language`. It is computed in
    `dispatch`, after every `finalize_response` (fields, language) has shaped the body, so the
    order of the mixins does not matter.
    """

    # The body depends on who asks (their dossiers, or their preferred language when the
    # client sends none): caches must keep one copy per Authorization.
    etag_varies_with_user = True

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        if (
            request.method not in ("GET", "HEAD")
            or response.status_code != 200
            or not isinstance(response, SimpleTemplateResponse)
        ):
            return response
        response.render()
        if self.etag_varies_with_user:
            patch_vary_headers(response, ("Authorization",))
        # Without LanguageMixin, LocaleMiddleware announces the active language later on.
        language = response.get("Content-Language") or translation.get_language() or ""
        tag = entity_tag(response.content, language)
        response["ETag"] = tag
        if if_none_match(request.META.get("HTTP_IF_NONE_MATCH", ""), tag):
            return not_modified(response)
        return response
