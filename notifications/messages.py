"""Texts of notifications, per kind and language.

Code-level defaults until the `NotificationTemplate` table takes over; the shape (kind →
language → (title, body) with `str.format_map` placeholders) is what that table will hold.
"""

from __future__ import annotations

import datetime
import re
import string
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from common.i18n import DEFAULT_LANGUAGE, translate
from common.text import squash_spaces

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "service_request.submitted": {
        "vi": (
            "Hồ sơ {tracking_code} đã được nộp",
            "Hồ sơ {service_name} của bạn đã được gửi tới {agency_name}. "
            "Bạn sẽ nhận được thông báo khi cơ quan tiếp nhận hồ sơ.",
        ),
        "en": (
            "Application {tracking_code} submitted",
            "Your {service_name} application has been sent to {agency_name}. "
            "We will let you know when it is received.",
        ),
    },
    "service_request.received": {
        "vi": (
            "Hồ sơ {tracking_code} đã được tiếp nhận",
            "{agency_name} đã tiếp nhận hồ sơ của bạn. Ngày hẹn trả kết quả: {due_date}.",
        ),
        "en": (
            "Application {tracking_code} received",
            "{agency_name} has received your application. Results are due on {due_date}.",
        ),
    },
    "service_request.status_changed": {
        "vi": (
            "Hồ sơ {tracking_code} có cập nhật mới",
            "Trạng thái hồ sơ của bạn: {status_label}. Mở ứng dụng để xem chi tiết.",
        ),
        "en": (
            "Update on application {tracking_code}",
            "Your application is now: {status_label}. Open the app for details.",
        ),
    },
}

# Status codes callers pass as `status`, shown as `{status_label}` when no label is given.
STATUS_LABELS: dict[str, dict[str, dict[str, str]]] = {
    "service_request": {
        "vi": {
            "submitted": "Đã nộp",
            "received": "Đã tiếp nhận",
            "supplement_requested": "Cần bổ sung giấy tờ",
            "in_progress": "Đang giải quyết",
            "result_ready": "Đã có kết quả",
            "completed": "Đã trả kết quả",
            "rejected": "Bị từ chối",
            "cancelled": "Đã huỷ",
        },
        "en": {
            "submitted": "Submitted",
            "received": "Received",
            "supplement_requested": "More documents needed",
            "in_progress": "In progress",
            "result_ready": "Result ready",
            "completed": "Completed",
            "rejected": "Rejected",
            "cancelled": "Cancelled",
        },
    },
    "feedback": {
        "vi": {
            "submitted": "Đã gửi",
            "in_progress": "Đang xử lý",
            "answered": "Đã trả lời",
            "closed": "Đã đóng",
            "rejected": "Không được tiếp nhận",
            "withdrawn": "Đã rút",
        },
        "en": {
            "submitted": "Submitted",
            "in_progress": "In progress",
            "answered": "Answered",
            "closed": "Closed",
            "rejected": "Not accepted",
            "withdrawn": "Withdrawn",
        },
    },
}

_DATE_FORMATS = {"vi": "%d/%m/%Y", "en": "%d %b %Y"}
_DATETIME_FORMATS = {"vi": "%H:%M %d/%m/%Y", "en": "%H:%M, %d %b %Y"}
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
# Text left dangling where an empty value was: "tới ." or "bạn: .".
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,:;!?)])")
_ORPHAN_SEPARATOR = re.compile(r"[:,;]+([.!?])")


class UnknownNotificationKind(KeyError):
    """A caller asked for a kind that has no template: a programming error."""


class _Values(dict):
    """Values for `format_map`: a missing key renders as nothing instead of raising."""

    def __missing__(self, key: str) -> str:
        return ""


def _display(value: Any, language: str) -> str:
    # Dates arrive as objects and names as translation dicts, so that each language can
    # show them its own way.
    if value is None:
        return ""
    if isinstance(value, dict):
        return translate(value, language)
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime(_DATETIME_FORMATS.get(language, _DATETIME_FORMATS["vi"]))
    if isinstance(value, datetime.date):
        return value.strftime(_DATE_FORMATS.get(language, _DATE_FORMATS["vi"]))
    return str(value)


def _tidy(text: str) -> str:
    text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", squash_spaces(text))
    return _ORPHAN_SEPARATOR.sub(r"\1", text).strip(" ,:;")


def _fill(template: str, values: _Values) -> str:
    try:
        return template.format_map(values)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        # A field like `{x.y}` or `{x:%d}` that the value cannot satisfy: drop the
        # placeholders rather than lose the whole notification.
        return _PLACEHOLDER.sub("", template)


def render(kind: str, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """Render `(title, body)` of `kind` in `language`, falling back to Vietnamese.

    A placeholder with no value in `context` renders as empty text; it never raises.
    """
    try:
        by_language = TEMPLATES[kind]
    except KeyError:
        raise UnknownNotificationKind(kind) from None
    if language not in by_language:
        language = DEFAULT_LANGUAGE
    title_template, body_template = by_language[language]
    values = _Values({key: _display(value, language) for key, value in context.items()})
    if not values.get("status_label") and values.get("status"):
        labels = STATUS_LABELS.get(kind.split(".")[0], {})
        labels_here = labels.get(language) or labels.get(DEFAULT_LANGUAGE, {})
        values["status_label"] = labels_here.get(values["status"], values["status"])
    return _tidy(_fill(title_template, values)), _tidy(_fill(body_template, values))


def placeholders(kind: str) -> set[str]:
    """Names every language of `kind` uses; callers' tests check they pass them all."""
    names: set[str] = set()
    for title, body in TEMPLATES[kind].values():
        for text in (title, body):
            names.update(
                field.split(".")[0].split("[")[0]
                for _, field, _, _ in string.Formatter().parse(text)
                if field
            )
    return names
