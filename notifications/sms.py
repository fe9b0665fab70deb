"""The only module that sends SMS.

`send_sms(phone, text)` fits the text into at most two SMS segments and hands it to the
backend chosen by `settings.SMS_BACKEND`:

- `log` (default): writes the message to the log and reports it sent (development).
- `memory`: keeps messages in a module-level list for tests (`memory_outbox()`,
  `reset_memory_backend()`).
- `http`: POSTs `{"to", "text", "sender"}` as JSON with a bearer token to `SMS_HTTP_URL` (a
  provider's gateway, or `notifications.fake_sms` locally), retrying a 429, a 5xx or a
  network error a few times within the call (`SMS_HTTP_RETRIES`).

Another provider is one more backend: an object with `send(OutgoingSms) -> SmsResult`,
registered in `BACKENDS` under the name `SMS_BACKEND` selects. It must not raise for a
delivery problem (answer a `failed` or `retry` result instead), and, like every outbound call,
it is called with no database transaction open. Texts come from the notification templates
(`notifications.messages.render_sms`) or from `notifications.outbox.queue_sms` callers.

Segment sizes: a text entirely in the GSM 03.38 alphabet is sent in GSM-7, 160 characters in
one SMS or 153 per segment of a longer one (the rest of each segment carries the header that
joins them); anything else (Vietnamese with its diacritics, Khmer) is sent in UCS-2, 70 UTF-16
units in one SMS or 67 per segment.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Protocol

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from common import request_id
from common.text import strip_diacritics

logger = logging.getLogger(__name__)

MAX_SEGMENTS = 2

GSM7 = "gsm7"
UCS2 = "ucs2"
# Characters per SMS: (a single SMS, each segment of a concatenated one).
_CAPACITY = {GSM7: (160, 153), UCS2: (70, 67)}
_ELLIPSIS = {GSM7: "...", UCS2: "…"}

# GSM 03.38 default alphabet (without the escape code itself) and its extension table, whose
# characters cost two septets (escape + character).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


class SmsOutcome(enum.StrEnum):
    SENT = "sent"
    # Refused before or by the provider (bad number, empty text); retrying cannot help.
    FAILED = "failed"
    # Temporarily failed (gateway down, overloaded, unreachable); a later attempt may succeed.
    RETRY = "retry"


@dataclass(frozen=True)
class OutgoingSms:
    """One SMS as it goes to the provider: already fitted into at most two segments."""

    phone: str
    text: str
    encoding: str
    segments: int


@dataclass(frozen=True)
class SmsResult:
    """What became of one `send_sms` call; `text` is what was (or would have been) sent."""

    outcome: SmsOutcome
    text: str
    encoding: str
    segments: int
    truncated: bool = False
    message_id: str = ""
    error: str = ""

    @property
    def is_sent(self) -> bool:
        return self.outcome == SmsOutcome.SENT


class SmsBackend(Protocol):
    def send(self, message: OutgoingSms) -> SmsResult: ...


# -- fitting text into segments ----------------------------------------------------------------


def encoding_of(text: str) -> str:
    """`gsm7` when every character is in the GSM 03.38 alphabet, otherwise `ucs2`."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in text):
        return GSM7
    return UCS2


def _cost(ch: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if ch in _GSM7_EXTENDED else 1
    # UCS-2 is sent as UTF-16: a character outside the BMP (an emoji) takes two units.
    return 2 if ord(ch) > 0xFFFF else 1


def _advance(state: tuple[int, int], cost: int, per_segment: int) -> tuple[int, int]:
    # A character (an escape pair, a surrogate pair) is never split between two segments.
    segments, used = state
    if used + cost > per_segment:
        return segments + 1, cost
    return segments, used + cost


def segment_count(text: str) -> int:
    """How many SMS segments `text` takes (0 for an empty text)."""
    if not text:
        return 0
    encoding = encoding_of(text)
    single, per_segment = _CAPACITY[encoding]
    costs = [_cost(ch, encoding) for ch in text]
    if sum(costs) <= single:
        return 1
    state = (1, 0)
    for cost in costs:
        state = _advance(state, cost, per_segment)
    return state[0]


def fit_text(text: str, max_segments: int = MAX_SEGMENTS) -> tuple[str, bool]:
    """`text` cut to fit `max_segments` segments, ending with an ellipsis when cut.

    Returns `(text, truncated)`. Whitespace is squashed and the text put in NFC first, so
    that decomposed Vietnamese does not cost twice the characters.
    """
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if segment_count(text) <= max_segments:
        return text, False
    encoding = encoding_of(text)
    single, per_segment = _CAPACITY[encoding]
    if max_segments == 1:
        per_segment = single
    ellipsis = _ELLIPSIS[encoding]
    keep = 0
    state = (1, 0)
    for index, ch in enumerate(text):
        state = _advance(state, _cost(ch, encoding), per_segment)
        if state[0] > max_segments:
            break
        with_ellipsis = state
        for mark in ellipsis:
            with_ellipsis = _advance(with_ellipsis, _cost(mark, encoding), per_segment)
        if with_ellipsis[0] <= max_segments:
            keep = index + 1
    return text[:keep].rstrip() + ellipsis, True


def compact_text(text: str, max_segments: int = MAX_SEGMENTS) -> str:
    """`text` in one segment where possible: as it is when it fits one, else without
    Vietnamese diacritics when that fits one (GSM-7 holds 160 characters, UCS-2 only 70),
    else as it is, cut to `max_segments`."""
    squashed = " ".join(unicodedata.normalize("NFC", text).split())
    if segment_count(squashed) > 1:
        plain = strip_diacritics(squashed)
        if segment_count(plain) == 1:
            return plain
    return fit_text(squashed, max_segments)[0]


# -- backends --------------------------------------------------------------------------------


def _masked(phone: str) -> str:
    return f"{phone[:3]}…{phone[-3:]}"


class LogBackend:
    """Writes each SMS to the log and reports it sent."""

    def send(self, message: OutgoingSms) -> SmsResult:
        logger.info(
            "sms (log backend) to %s, %d segment(s) %s: %s",
            _masked(message.phone),
            message.segments,
            message.encoding,
            message.text,
        )
        return SmsResult(SmsOutcome.SENT, message.text, message.encoding, message.segments)


class MemoryBackend:
    """Keeps every SMS in memory, for tests to read back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: list[OutgoingSms] = []

    def send(self, message: OutgoingSms) -> SmsResult:
        with self._lock:
            self._sent.append(message)
            message_id = f"memory-{len(self._sent)}"
        return SmsResult(
            SmsOutcome.SENT, message.text, message.encoding, message.segments, message_id=message_id
        )

    def outbox(self) -> list[OutgoingSms]:
        with self._lock:
            return list(self._sent)

    def reset(self) -> None:
        with self._lock:
            self._sent.clear()


# Waits between tries within one call: 0.5 s, 1 s, 2 s…, or the gateway's Retry-After; never
# longer than the cap, since the worker holds its whole batch while it waits.
HTTP_BACKOFF_BASE_SECONDS = 0.5
HTTP_MAX_WAIT_SECONDS = 5.0
# Tests patch this so that retries do not wait.
_sleep = time.sleep


def _retry_after(response: httpx.Response) -> float | None:
    """The gateway's Retry-After in seconds when it is a number (an HTTP date is ignored)."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class HttpBackend:
    """Sends through an HTTP gateway: POST JSON `{to, text, sender}` with a bearer token.

    2xx is sent (the answer's `id` is the message id); a 429, a 5xx or a network error is
    tried again `SMS_HTTP_RETRIES` more times and is then a `retry` result, for the outbox
    to send later; any other answer is a refusal (`failed`).
    """

    def send(self, message: OutgoingSms) -> SmsResult:
        url, token = settings.SMS_HTTP_URL, settings.SMS_HTTP_TOKEN
        if not url or not token:
            raise ImproperlyConfigured("SMS_BACKEND=http needs SMS_HTTP_URL and SMS_HTTP_TOKEN")
        payload = {"to": message.phone, "text": message.text, "sender": settings.SMS_SENDER}
        headers = {"Authorization": f"Bearer {token}", **request_id.outgoing_headers()}
        tries = 1 + max(int(settings.SMS_HTTP_RETRIES), 0)
        error = ""
        with httpx.Client(timeout=float(settings.SMS_HTTP_TIMEOUT)) as client:
            for attempt in range(tries):
                retry_after = None
                try:
                    response = client.post(url, json=payload, headers=headers)
                except httpx.RequestError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    if response.is_success:
                        return self._result(message, SmsOutcome.SENT, message_id=_id_of(response))
                    error = f"HTTP {response.status_code}: {response.text[:200]}"
                    if response.status_code != 429 and response.status_code < 500:
                        return self._result(message, SmsOutcome.FAILED, error=error)
                    retry_after = _retry_after(response)
                if attempt + 1 < tries:
                    backoff = HTTP_BACKOFF_BASE_SECONDS * 2**attempt
                    _sleep(min(max(backoff, retry_after or 0.0), HTTP_MAX_WAIT_SECONDS))
        logger.warning(
            "sms to %s not sent after %d tries: %s", _masked(message.phone), tries, error
        )
        return self._result(message, SmsOutcome.RETRY, error=error)

    @staticmethod
    def _result(
        message: OutgoingSms, outcome: SmsOutcome, *, message_id: str = "", error: str = ""
    ) -> SmsResult:
        return SmsResult(
            outcome,
            message.text,
            message.encoding,
            message.segments,
            message_id=message_id,
            error=error,
        )


def _id_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    message_id = body.get("id") if isinstance(body, dict) else None
    return "" if message_id is None else str(message_id)


_memory = MemoryBackend()
BACKENDS: dict[str, SmsBackend] = {"log": LogBackend(), "memory": _memory, "http": HttpBackend()}


def memory_outbox() -> list[OutgoingSms]:
    """Messages the `memory` backend has sent, oldest first."""
    return _memory.outbox()


def reset_memory_backend() -> None:
    """Forget what the `memory` backend has sent."""
    _memory.reset()


# -- the way in ------------------------------------------------------------------------------


def send_sms(phone: str, text: str) -> SmsResult:
    """Send `text` to `phone` (E.164, e.g. +84912345678) through the configured backend.

    The text is cut to at most two segments (see the module docstring). Never raises for a
    bad number or an empty text: those come back as `failed` results, as a provider's
    refusal would. Call it with no database transaction open.
    """
    backend = BACKENDS.get(settings.SMS_BACKEND)
    if backend is None:
        raise ImproperlyConfigured(
            f"Unknown SMS_BACKEND {settings.SMS_BACKEND!r} ({', '.join(sorted(BACKENDS))})"
        )
    fitted, truncated = fit_text(text)
    encoding = encoding_of(fitted)
    segments = segment_count(fitted)
    if not _E164.match(phone or ""):
        return SmsResult(
            SmsOutcome.FAILED, fitted, encoding, segments, truncated, error="invalid phone number"
        )
    if not fitted:
        return SmsResult(SmsOutcome.FAILED, fitted, encoding, segments, error="empty text")
    result = backend.send(OutgoingSms(phone, fitted, encoding, segments))
    return dataclasses.replace(result, truncated=True) if truncated else result
