"""The error codes the API answers, by HTTP status: the enums of the spec's error components.

Three sources, merged when the spec is generated (`codes_by_status`):
- the exception classes: every `DomainError` and DRF `APIException` subclass brings its
  `status_code` and `default_code`;
- the request fields: the validation codes of every request serializer field and filter
  (collected by `common.api.openapi.AutoSchema` while it documents the operations);
- `RAISED_WITH_CODE` below: codes given where an error is raised (`ValidationError(...,
  code=...)`, `InvalidInput(..., code=...)`), which no class names.

`tests/contract.py` checks every error answer the test suite receives against these enums,
so a code missing here fails the run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from rest_framework.exceptions import APIException

from common.exceptions import DomainError

RAISED_WITH_CODE: dict[int, frozenset[str]] = {
    400: frozenset(
        {
            # Fields and bodies.
            "required",
            "null",
            "blank",
            "invalid",
            "invalid_choice",
            "does_not_exist",
            "incorrect_type",
            "max_length",
            "min_length",
            "max_value",
            "min_value",
            "max_digits",
            "max_decimal_places",
            "max_whole_digits",
            "date",
            "datetime",
            "make_aware",
            "overflow",
            "not_a_list",
            "not_a_dict",
            "empty",
            "unique",
            "unknown_field",
            "parse_error",
            "invalid_characters",
            "too_deep",
            # Passwords (Django's validators) and one-time codes.
            "password_too_short",
            "password_too_common",
            "password_entirely_numeric",
            "password_too_similar",
            "wrong_password",
            "password_or_otp",
            "invalid_code",
            "invalid_second_factor",
            # Places, phones, languages.
            "invalid_phone",
            "unknown_phone",
            "unknown_language",
            "outside_vietnam",
            "outside_area",
            "incomplete_coordinates",
            # Cases and files.
            "no_agency",
            "service_not_offered",
            "invalid_status",
            "invalid_agency",
            "invalid_assignee",
            "invalid_duplicate",
            # Webhook receivers (`webhooks`).
            "unsafe_url",
            "unsupported_file_type",
            "audio_too_long",
            "upload_incomplete",
            "upload_already_attached",
            "upload_offset_mismatch",
            "invalid_idempotency_key",
            # Statistics.
            "period_too_long",
            "from_after_to",
            "whole_months",
            # A refresh token sent in a body (logout), assisted filing, supplements.
            "token_not_valid",
            "consent_required",
            "incomplete",
            # A request Django itself refuses (a bad Host header).
            "bad_request",
        }
    ),
    401: frozenset(
        {
            "not_authenticated",
            "authentication_failed",
            "token_not_valid",
            "user_not_found",
            "user_inactive",
            "no_active_account",
            "invalid_token",
            "bad_authorization_header",
            "invalid_second_factor",
        }
    ),
    403: frozenset({"permission_denied", "second_factor_required"}),
    404: frozenset({"not_found"}),
    405: frozenset({"method_not_allowed"}),
    406: frozenset({"not_acceptable"}),
    409: frozenset(
        {
            "conflict",
            "invalid_transition",
            "consent_required",
            "open_cases",
            "staff_account",
            "too_many_attachments",
            "id_taken",
            "already_rated",
            "already_supported",
        }
    ),
    413: frozenset({"file_too_large", "request_too_large", "upload_length_exceeded"}),
    415: frozenset({"unsupported_media_type"}),
    429: frozenset({"throttled", "too_many_codes"}),
    500: frozenset({"error"}),
}

# The `type` of an error body, by status.
VALIDATION_ERROR, CLIENT_ERROR, SERVER_ERROR = "validation_error", "client_error", "server_error"


def error_types(status: int) -> list[str]:
    if status >= 500:
        return [SERVER_ERROR]
    if status in (400, 413):
        # A field at fault (`attr` names it) or the request as a whole (`attr` null).
        return [VALIDATION_ERROR, CLIENT_ERROR]
    return [CLIENT_ERROR]


_collected: dict[int, set[str]] = defaultdict(set)


def collect(status: int, codes: Iterable[str]) -> None:
    """Codes an operation's fields can answer (called while the spec is generated)."""
    _collected[status].update(codes)


def _subclasses(root: type) -> Iterator[type]:
    for cls in root.__subclasses__():
        yield cls
        yield from _subclasses(cls)


def _class_codes() -> Iterator[tuple[int, str]]:
    for cls in [*_subclasses(APIException), *_subclasses(DomainError)]:
        status, code = getattr(cls, "status_code", None), getattr(cls, "default_code", None)
        if isinstance(status, int) and isinstance(code, str) and status >= 400:
            yield status, code


def codes_by_status() -> dict[int, list[str]]:
    """Every code each status can carry, sorted."""
    codes: dict[int, set[str]] = defaultdict(set)
    for status, known in RAISED_WITH_CODE.items():
        codes[status].update(known)
    for status, collected in _collected.items():
        codes[status].update(collected)
    for status, code in _class_codes():
        codes[status].add(code)
    return {status: sorted(found) for status, found in sorted(codes.items())}
