"""Schemathesis hooks of `.ci/contract` (loaded through `hooks` in openapi/schemathesis.toml).

They shape the schema-valid (positive) cases only; negative cases are sent as generated.

- Text: every text the API reads is checked by one rule, `common.text.check_text` (no C0/C1
  control characters but tab, newline and carriage return, no unpaired surrogates, no
  nesting deeper than `common.text.MAX_DEPTH`); breaking it is `400 invalid_characters` or
  `too_deep` on any operation. A positive case that breaks it is not sent as one.
- `?lang=`: a language enabled in the `common.Language` rows, which no enum in the spec can
  list; a positive case's `lang` becomes one of the codes `GET /api/v1/languages/` offered
  before the run (`CONTRACT_LANGUAGES`, comma-separated, set by .ci/contract). Any other code
  is a `400 invalid_choice` on `lang`, which negative cases still meet.
"""

from __future__ import annotations

import os
import sys
import zlib
from typing import Any

import schemathesis

sys.path.insert(0, os.getcwd())  # the project's root, where .ci/contract runs

from common.text import BadText, check_text

LANGUAGES = [code for code in os.environ.get("CONTRACT_LANGUAGES", "vi").split(",") if code]


def _breaks_text_rule(value: Any) -> bool:
    try:
        check_text(value)
    except BadText:
        return True
    return False


def _is_positive(case: Any) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    if not _is_positive(case):
        return True
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    body = case.body if isinstance(case.body, dict | list | str) else None
    parts = [case.path_parameters or {}, case.query or {}, headers, body]
    return not any(_breaks_text_rule(part) for part in parts)


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    lang = (case.query or {}).get("lang")
    if _is_positive(case) and isinstance(lang, str) and lang not in LANGUAGES:
        # The same generated code always maps to the same language: reproducible runs.
        case.query["lang"] = LANGUAGES[zlib.crc32(lang.encode()) % len(LANGUAGES)]
    return case


# tus 1.0 `PATCH uploads/{id}/` sends the bytes of a piece as they are.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
