"""The OpenAPI of language negotiation, derived from the views: every view that mixes in
`LanguageMixin` documents `?lang=` and the `Accept-Language` header, the
`Content-Language` of its answers and the 400 of an unknown `?lang=`."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from common.api.mixins import LanguageMixin
from common.i18n import LANGUAGE_TAG_PATTERN

LANG_PARAM = "lang"

LANG_PARAMETER = OpenApiParameter(
    LANG_PARAM,
    # A language tag's shape (the codes themselves are data: `GET languages/`).
    {"type": "string", "pattern": LANGUAGE_TAG_PATTERN, "maxLength": 35},
    OpenApiParameter.QUERY,
    # Sent empty, it is ignored, as the server does.
    allow_blank=True,
    description=(
        "Language of the answer, a code from `GET /api/v1/languages/` (e.g. `vi`, `en`, "
        "`tyz`). Wins over the `Accept-Language` header (q-values honoured, `q=0` excludes, "
        "`en-US` means `en`), which wins over the user's `preferred_language`; the default "
        "is `vi`. Texts missing in that language are in Vietnamese. An unknown or disabled "
        "code is a 400 on `lang`."
    ),
)
ACCEPT_LANGUAGE_HEADER = OpenApiParameter(
    "Accept-Language",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Languages the user reads, with q-values (RFC 9110), e.g. `tyz, vi;q=0.8, en;q=0.5`; "
        "codes from `GET /api/v1/languages/`, a region is ignored (`en-US` means `en`) and "
        "`q=0` excludes. Used when `lang` is absent; codes the API does not offer are skipped."
    ),
)
CONTENT_LANGUAGE_HEADER = OpenApiParameter(
    "Content-Language",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=True,
    description="The negotiated language of this answer.",
)


class LanguageConventionsSchema:
    """AutoSchema mixin: documents what `common.api.mixins.LanguageMixin` does at run time."""

    view: Any

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())  # type: ignore[misc]
        if isinstance(self.view, LanguageMixin):
            parameters += [LANG_PARAMETER, ACCEPT_LANGUAGE_HEADER, CONTENT_LANGUAGE_HEADER]
        return parameters

    def _get_extra_validation_errors(self) -> dict[str, set[str]]:
        extra = dict(super()._get_extra_validation_errors())  # type: ignore[misc]
        if isinstance(self.view, LanguageMixin):
            extra[LANG_PARAM] = {"invalid_choice"}
        return extra
