"""`Idempotency-Key` for create endpoints and uploads.

A phone on a bad line cannot tell a lost request from a lost response, so it sends the same
request again under the same key. The first response is kept in the database for 24 hours
per (caller, key) and a repeat gets it back instead of a second object. Nothing here lives
only in Redis: with Redis down, idempotency keeps working.

Anonymous callers (registration) share one namespace, `anon`: their keys are random UUIDs
from the app, and the IP address cannot scope them, since a retry often arrives from another
carrier address. A stranger who guessed a key would only see the response to a body they
already sent, byte for byte.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from functools import wraps
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from common import metrics
from common.api.hygiene import render_printable
from common.exceptions import Conflict
from common.models import IdempotencyRecord

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL = timedelta(hours=24)
# A row still `in_progress` after this long belongs to a process that died mid-request
# (deploy, OOM kill); without a limit the client would be refused for a whole day.
IN_PROGRESS_TIMEOUT = timedelta(minutes=5)
ANONYMOUS = "anon"
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")
# Set again by rendering; a stored copy would only contradict it.
_UNSTORED_HEADERS = frozenset({"content-type", "content-length"})

State = IdempotencyRecord.State


class InvalidIdempotencyKey(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("Idempotency-Key must be 1 to 255 printable ASCII characters.")
    default_code = "invalid_idempotency_key"


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("This Idempotency-Key was already used with a different request.")
    default_code = "idempotency_key_reused"


class IdempotencyInProgress(Conflict):
    default_detail = _("A request with this Idempotency-Key is still being processed.")
    default_code = "idempotency_in_progress"
    # The error handler turns `wait` into Retry-After: the first request is usually done
    # within a second.
    wait = 1


def caller_id(request: Request) -> str:
    """The namespace of the caller's keys: the user's id, or `anon` for anonymous calls."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return str(user.pk)
    return ANONYMOUS


def body_fingerprint(
    method: str, path: str, data: Any, headers: Mapping[str, str] | None = None
) -> str:
    """A keyed hash of method, path and body; the same request always gives the same value.

    JSON bodies are hashed in canonical form (sorted keys), so a client that re-serialises
    the same object differently still matches. Multipart bodies are hashed part by part,
    files by name, type and content; a raw body (a tus chunk) by its bytes. `headers` are
    the request headers that carry part of its meaning (tus puts the length, the metadata
    and the offset there). Keyed with SECRET_KEY because a registration body holds a
    password: a plain hash would be a fast offline oracle for it.
    """
    parts = [method.upper(), path]
    for name, value in sorted((headers or {}).items()):
        parts.append(f"header:{name.lower()}={json.dumps(value, ensure_ascii=False)}")
    if hasattr(data, "chunks"):
        parts.append(_part_digest(data))
    elif isinstance(data, QueryDict):
        for name in sorted(data):
            for value in data.getlist(name):
                parts.append(f"{name}={_part_digest(value)}")
    else:
        parts.append(
            json.dumps(
                data,
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
                cls=DjangoJSONEncoder,
            )
        )
    return salted_hmac("common.api.idempotency", "\n".join(parts), algorithm="sha256").hexdigest()


def _part_digest(value: Any) -> str:
    if not hasattr(value, "chunks"):
        return json.dumps(str(value), ensure_ascii=False)
    digest = salted_hmac("common.api.idempotency.file", "", algorithm="sha256")
    for chunk in value.chunks():
        digest.update(chunk)
    # The view reads the same upload after us.
    value.seek(0)
    name = getattr(value, "name", "")
    content_type = getattr(value, "content_type", "")
    return f"file:{name}:{content_type}:{value.size}:{digest.hexdigest()}"


def _claim(
    user_id: str, key: str, method: str, path: str, body_hash: str
) -> tuple[IdempotencyRecord, bool]:
    """Insert this request's `in_progress` row, or find the finished one to replay.

    Returns `(row, True)` when this request is the first and must run, `(row, False)` when
    `row` holds the response to send again. Raises `IdempotencyKeyReused` or
    `IdempotencyInProgress`.
    """
    for _attempt in range(3):
        try:
            # Committed at once (unless a test already holds a transaction), so a concurrent
            # repeat sees it; the unique constraint on (user_id, key) decides any race.
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user_id=user_id, key=key, method=method, path=path, body_hash=body_hash
                )
            return record, True
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
        if existing is None:
            continue  # released (a 5xx) or purged between our insert and this read
        now = timezone.now()
        abandoned = (
            existing.state == State.IN_PROGRESS and existing.created_at < now - IN_PROGRESS_TIMEOUT
        )
        if existing.created_at < now - TTL or abandoned:
            # Conditional on the row we looked at, so two repeats cannot both take it over.
            IdempotencyRecord.objects.filter(
                pk=existing.pk, created_at=existing.created_at, state=existing.state
            ).delete()
            continue
        if existing.body_hash != body_hash:
            raise IdempotencyKeyReused()
        if existing.state == State.IN_PROGRESS:
            raise IdempotencyInProgress()
        return existing, False
    # Three lost races in a row: the key is contended right now.
    raise IdempotencyInProgress()


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(
        record.response_body, status=record.status_code, headers=record.response_headers
    )
    response[REPLAYED_HEADER] = "true"
    metrics.IDEMPOTENCY_REPLAYS.inc()
    return response


def _store(record: IdempotencyRecord, response: Response) -> None:
    """Keep `response` for repeats, in the transaction of the work it answers."""
    rendered = JSONRenderer().render(response.data)
    headers = {
        name: value for name, value in response.items() if name.lower() not in _UNSTORED_HEADERS
    }
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                state=State.DONE,
                status_code=response.status_code,
                response_body=json.loads(rendered) if rendered else None,
                response_headers=headers,
            )
    except DatabaseError:
        # Failing now would undo work that is done; the row stays in progress until
        # IN_PROGRESS_TIMEOUT frees the key.
        logger.exception("could not store the response for Idempotency-Key %r", record.key)


def _release(record: IdempotencyRecord) -> None:
    try:
        IdempotencyRecord.objects.filter(pk=record.pk, state=State.IN_PROGRESS).delete()
    except DatabaseError:
        logger.exception("could not release Idempotency-Key %r", record.key)


Handler = Callable[..., Response]


def idempotent(handler: Handler) -> Handler:
    """Make a view method (`post`) honour the `Idempotency-Key` header.

    Without the header the method runs as before. With it, the first request runs and its
    response (2xx and 4xx alike) is kept for 24 hours; a repeat with the same body gets that
    response back with `Idempotent-Replayed: true`; the same key with another body is a 422
    `idempotency_key_reused`; a repeat while the first still runs is a 409
    `idempotency_in_progress`. A 5xx frees the key, so the retry runs again.
    Authentication, permissions and throttles run before this, as for any request.
    """
    return _idempotent(handler, ())


def idempotent_including(*header_names: str) -> Callable[[Handler], Handler]:
    """`idempotent` for a request whose meaning is partly in headers, e.g. tus's
    `Upload-Length`: the same key with another value of one of them is a 422 as well."""

    def decorate(handler: Handler) -> Handler:
        return _idempotent(handler, header_names)

    return decorate


def _idempotent(handler: Handler, header_names: Iterable[str]) -> Handler:
    header_names = tuple(header_names)

    @wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not _VALID_KEY.fullmatch(key):
            raise InvalidIdempotencyKey()
        meaningful = {
            name: request.headers[name] for name in header_names if name in request.headers
        }
        body_hash = body_fingerprint(request.method or "", request.path, request.data, meaningful)
        record, first = _claim(
            caller_id(request), key, request.method or "", request.path, body_hash
        )
        if not first:
            return _replay(record)
        stored = False
        try:
            # The work, the rendering of its answer and the answer kept for repeats commit
            # together or not at all (`common.api.atomic`); the claim above is already
            # committed, so a concurrent repeat sees it.
            with transaction.atomic():
                response = _respond(handler, view, request, *args, **kwargs)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                elif hasattr(response, "data"):
                    _store(record, response)
                    stored = True
        except Exception:
            _release(record)
            raise
        if not stored:
            # A 5xx frees the key so the retry runs again; a response that is not DRF's
            # could not be replayed faithfully.
            _release(record)
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return wrapper


def _respond(handler: Handler, view: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
    """The handler's response, finalised and rendered as `dispatch` would, or the error
    response of what it raised (a 4xx is kept like any other answer)."""
    try:
        response = handler(view, request, *args, **kwargs)
    except Exception as exc:
        response = view.handle_exception(exc)
    return render_printable(view.finalize_response(request, response, *args, **kwargs))


def purge_expired() -> int:
    """Delete records older than 24 hours; returns how many were deleted."""
    deleted, _detail = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - TTL
    ).delete()
    return deleted
