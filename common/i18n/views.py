"""The list of languages the API speaks, with how far each is translated."""

from collections import Counter
from typing import Any

from django.core.cache import cache
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.mixins import LanguageMixin
from common.i18n import TranslationTally, translation_tally
from common.models import Language

# Completeness reads the whole catalog; a language picker does not need it to the second.
COMPLETENESS_CACHE_KEY = "i18n:translation-tally"
COMPLETENESS_CACHE_SECONDS = 300


class LanguageOutput(serializers.Serializer):
    code = serializers.CharField(help_text="ISO 639 code, e.g. `vi`, `tyz`, `hmn`.")
    native_name = serializers.CharField(help_text="The language's name for itself.")
    english_name = serializers.CharField()
    completeness = serializers.IntegerField(
        min_value=0,
        max_value=100,
        help_text=(
            "Percentage of the service's texts (service categories; service names, "
            "descriptions and required documents; notification templates) that have a text "
            "in this language. The rest falls back to Vietnamese."
        ),
    )


def cached_translation_tally() -> TranslationTally:
    """`common.i18n.translation_tally()`, kept in the cache for a few minutes."""
    cached = cache.get(COMPLETENESS_CACHE_KEY)
    if cached is not None:
        total, translated = cached
        return TranslationTally(total=total, translated=Counter(translated))
    tally = translation_tally()
    cache.set(
        COMPLETENESS_CACHE_KEY, (tally.total, dict(tally.translated)), COMPLETENESS_CACHE_SECONDS
    )
    return tally


class LanguageListView(LanguageMixin, GenericAPIView):
    # Anonymous GETs read the replica when there is one (common/db_routing.py).
    replica_reads = True
    permission_classes = (AllowAny,)
    serializer_class = LanguageOutput
    pagination_class = None

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return Language.objects.filter(enabled=True).order_by("position", "code")

    @extend_schema(
        summary="List the languages the service speaks",
        description=(
            "Enabled languages in display order. Send one of the codes as `?lang=` or in "
            "`Accept-Language`, or store it as `preferred_language` in `me/`."
        ),
        tags=["reference data"],
        responses={200: LanguageOutput(many=True)},
    )
    def get(self, request: Request) -> Response:
        tally = cached_translation_tally()
        rows: list[dict[str, Any]] = [
            {
                "code": language.code,
                "native_name": language.native_name,
                "english_name": language.english_name,
                "completeness": tally.percentage(language.code),
            }
            for language in self.get_queryset()
        ]
        return Response(LanguageOutput(rows, many=True).data)
