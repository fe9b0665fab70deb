"""Log lines as JSON, one object per line, with phone numbers and tokens masked.

`JsonFormatter` writes `time, level, logger, message, request_id` and whatever a caller
passed in `extra` (the request line adds `route, method, status, duration_ms, user_id`).
`mask()` hides phone numbers (all but the last 3 digits) and bearer tokens, JWTs and push
tokens; the same masking cleans Sentry events (`scrub_sentry_event`).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from common import request_id

# Vietnamese numbers in any common format (+84 912 345 678, 0912.345.678, 84912345678) and
# any E.164 number; not dates or ids (no leading 0/84, or inside a word).
_PHONE = re.compile(r"(?<![\w+.:/-])((?:\+|00)?(?:84|0)(?:[ .-]?\d){8,10}|\+[1-9]\d{7,14})(?![\w])")
_BEARER = re.compile(r"(?i)\b(bearer|token|whsec)([\s:=_]+)([A-Za-z0-9._~+/=-]{8,})")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# FCM registration tokens: long runs of URL-safe base64 with a colon, far longer than words.
_LONG_TOKEN = re.compile(r"\b[A-Za-z0-9_-]{20,}:[A-Za-z0-9_-]{60,}\b|\b[A-Za-z0-9_-]{100,}\b")

# Attributes of every LogRecord; anything else on a record came in through `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def _mask_phone(match: re.Match[str]) -> str:
    text = match[1]
    digits = re.sub(r"\D", "", text)
    if not 9 <= len(digits) <= 15:
        return match[0]
    return "•" * (len(digits) - 3) + digits[-3:]


def mask(text: str) -> str:
    """`text` with phone numbers, bearer tokens, JWTs and push tokens hidden."""
    text = _JWT.sub("eyJ…", text)
    text = _BEARER.sub(lambda m: f"{m[1]}{m[2]}…", text)
    text = _LONG_TOKEN.sub("…", text)
    return _PHONE.sub(_mask_phone, text)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id.current() or None,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = _masked(value)
        if record.exc_info:
            entry["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """The development format, masked like the JSON one, with the request id when known."""

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = request_id.current() or "-"
        return mask(super().format(record))


def scrub_sentry_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Sentry's `before_send`: the same masking over every string of the event, and no
    request bodies, cookies or auth headers (`send_default_pii=False` keeps users out)."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            for name in list(headers):
                if name.lower() in {"authorization", "cookie", "x-forwarded-for"}:
                    headers[name] = "[Filtered]"
    masked = _masked(event)
    tags = masked.setdefault("tags", {})
    if request_id.current() and isinstance(tags, dict):
        tags["request_id"] = request_id.current()
    return masked


def init_sentry(dsn: str, environment: str, traces_sample_rate: float) -> None:
    """Report errors to Sentry (optional), never with personal data."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        before_send=scrub_sentry_event,  # type: ignore[arg-type]
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
