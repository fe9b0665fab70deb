"""Cursor pagination for every list, and the sync walk of the lists a phone keeps.

Bad input answers in the one error shape, never as a 500: a `?page_size=` outside 1–100 is a
400 on `page_size` (DRF would silently fall back to the default, and a phone asking for 500
items would not learn why it got 20), and a forged `?cursor=` is a 404 "Invalid cursor".
"""

from __future__ import annotations

import re
from base64 import b64decode, b64encode
from datetime import datetime
from typing import Any
from urllib import parse

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field, Model, Q, QuerySet
from django.utils.translation import gettext as _
from rest_framework import pagination, serializers
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from common.api import sync

_PAGE_SIZE = re.compile(r"[0-9]{1,4}")


class CursorPagination(pagination.CursorPagination):
    """Cursor pagination, newest first, `?page_size=` from 1 to 100 (default 20)."""

    page_size = 20
    page_size_query_param = "page_size"
    page_size_query_description = "Items per page, 1 to 100 (default 20)."
    max_page_size = 100
    ordering: tuple[str, ...] = ("-created_at", "-id")

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "").strip()
        if not raw:
            return self.page_size
        size = int(raw) if _PAGE_SIZE.fullmatch(raw) else 0
        if not 1 <= size <= self.max_page_size:
            message = _("Enter a whole number from 1 to %(max)d.") % {"max": self.max_page_size}
            raise ValidationError(
                {self.page_size_query_param: [ErrorDetail(message, code="invalid")]}
            )
        return size

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        # DRF's own examples end with a stray quote: not a URI.
        for name, cursor in (("next", "cD00ODY%3D"), ("previous", "cj0xJnA9NDg3")):
            paginated["properties"][name]["example"] = (
                f"https://api.example.org/api/v1/requests/?{self.cursor_query_param}={cursor}"
            )
        return paginated

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                # What get_page_size accepts, so a client never builds a request it refuses.
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
        return parameters

    def paginate_queryset(self, queryset, request, view=None):  # type: ignore[no-untyped-def]
        # decode_cursor checks the cursor's position against the type of the ordering field.
        self._queryset = queryset
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            field = ordering_field(self._queryset, self.ordering[0].lstrip("-"))
            try:
                to_python(field, cursor.position)
            except ValueError:
                # Left to the database, a position of the wrong type would fail as a 500.
                raise NotFound(self.invalid_cursor_message) from None
        return cursor


def ordering_field(queryset: QuerySet[Any], name: str) -> Field[Any, Any]:
    """The model field, or the annotation's output field, that `name` orders by."""
    annotation = queryset.query.annotations.get(name)
    if annotation is not None:
        return annotation.output_field
    meta = queryset.model._meta
    return meta.pk if name == "pk" else meta.get_field(name)  # type: ignore[return-value]


def to_python(field: Field[Any, Any], raw: Any) -> Any:
    """`raw` as a value of `field`, range and length checked; ValueError when it is not one."""
    try:
        value = field.to_python(raw)
        field.run_validators(value)
    except (DjangoValidationError, TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    return value


class SyncCursorPagination(CursorPagination):
    """A list a phone keeps: the plain cursor list, or with `?updated_since=` the sync walk.

    The walk returns items whose `updated_at` is strictly later than `updated_since`, oldest
    first, keyed on `(updated_at, pk)` so that rows stamped alike (a bulk update) are neither
    skipped nor repeated. Its envelope adds `removed` (on the first page) and `server_time`
    (the same on every page of one walk). Why that is enough to miss nothing: `common.api.sync`.
    """

    # The `SyncRemoval.kind` of this list's items, and the field the API shows as their id.
    sync_kind: str = ""
    sync_id_field = "pk"
    updated_field = "updated_at"

    since: datetime | None = None
    full_resync = False
    _walked: list[Any]

    def paginate_queryset(self, queryset, request, view=None):  # type: ignore[no-untyped-def]
        self.since = sync.updated_since(request)
        if self.since is None:
            return super().paginate_queryset(queryset, request, view)
        return self._paginate_since(queryset, request, self.since)

    def _paginate_since(
        self, queryset: QuerySet[Any], request: Request, since: datetime
    ) -> list[Any]:
        if not self.sync_kind:
            raise TypeError(f"{type(self).__name__} needs a sync_kind")
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        started, after = self._decode_sync_cursor(request, queryset.model)
        field = self.updated_field
        self.server_time = started or sync.server_time()
        # Removals after `since` may be pruned already: every item in view, flagged, instead.
        self.full_resync = sync.past_horizon(since, self.server_time)
        rows = queryset if self.full_resync else queryset.filter(**{f"{field}__gt": since})
        if after is not None:
            stamp, pk = after
            rows = rows.filter(Q(**{f"{field}__gt": stamp}) | Q(**{field: stamp, "pk__gt": pk}))
        fetched = list(rows.order_by(field, "pk")[: self.page_size + 1])
        self.page = self._walked = fetched[: self.page_size]
        self.has_more = len(fetched) > self.page_size
        # Removals committed after the first page carry a later stamp than server_time, so
        # the next sync reports them; repeating the list on every page would add nothing.
        first_page = started is None and not self.full_resync
        self.removed = self._removed(queryset, request, since) if first_page else []
        return self.page

    def _removed(self, queryset: QuerySet[Any], request: Request, since: datetime) -> list[str]:
        ids = sync.removed_since(self.sync_kind, since, request.user)
        if not ids:
            return []
        field = ordering_field(queryset, self.sync_id_field)
        candidates = []
        for raw in ids:
            try:
                candidates.append(to_python(field, raw))
            except ValueError:
                continue
        # An item removed and later brought back is in the results, not in `removed`, so the
        # order in which a phone applies the two lists does not matter.
        back = {
            str(value)
            for value in queryset.filter(**{f"{self.sync_id_field}__in": candidates}).values_list(
                self.sync_id_field, flat=True
            )
        }
        return [i for i in ids if i not in back]

    def _decode_sync_cursor(
        self, request: Request, model: type[Model]
    ) -> tuple[datetime | None, tuple[datetime, Any] | None]:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None, None
        try:
            tokens = parse.parse_qs(b64decode(encoded.encode("ascii")).decode("ascii"))
            started = sync.parse_aware(tokens["s"][0])
            stamp = sync.parse_aware(tokens["p"][0])
            pk = to_python(model._meta.pk, tokens["i"][0])  # type: ignore[arg-type]
            if started is None or stamp is None:
                raise ValueError("not a date-time")
        except (KeyError, ValueError):
            raise NotFound(self.invalid_cursor_message) from None
        return started, (stamp, pk)

    def _next_since_link(self) -> str | None:
        if not self.has_more:
            return None
        last = self._walked[-1]
        tokens = {
            "s": self.server_time.isoformat(),
            "p": getattr(last, self.updated_field).isoformat(),
            "i": str(last.pk),
        }
        encoded = b64encode(parse.urlencode(tokens).encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url or "", self.cursor_query_param, encoded)

    def get_paginated_response(self, data: Any) -> Response:
        if self.since is None:
            return super().get_paginated_response(data)
        envelope = {
            "next": self._next_since_link(),
            # The walk goes forward only: a phone never pages back through changes.
            "previous": None,
            "results": data,
            "removed": self.removed,
            "server_time": serializers.DateTimeField().to_representation(self.server_time),
        }
        if self.full_resync:
            envelope["full_resync"] = True
        return Response(envelope)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        envelope = super().get_paginated_response_schema(schema)
        envelope["properties"]["removed"] = {
            "type": "array",
            "items": {"type": "string"},
            "description": (
                "Only with `updated_since` (first page of a walk): ids of items that left "
                "your view since then; drop them from the phone."
            ),
        }
        envelope["properties"]["server_time"] = {
            "type": "string",
            "format": "date-time",
            "description": (
                "Only with `updated_since`: the value to send as `updated_since` next time, "
                "once `next` is null. Equal on every page of one walk."
            ),
        }
        envelope["properties"]["full_resync"] = {
            "type": "boolean",
            "description": (
                "Present (true) on every page of a walk whose `updated_since` is older than the "
                "server remembers removals (90 days by default): `results` then hold every "
                "item in your view, not only changes, and `removed` is empty. Keep only the "
                "items this walk brings; drop the others from the phone."
            ),
        }
        return envelope

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": sync.UPDATED_SINCE_PARAM,
                "required": False,
                "in": "query",
                "description": (
                    "Sync: only items changed strictly after this ISO 8601 date-time with UTC "
                    "offset (send the `server_time` of your last sync; for a first sync, "
                    "`1970-01-01T00:00:00Z`), oldest first. The answer adds `removed` and "
                    "`server_time`."
                ),
                "schema": {"type": "string", "format": "date-time"},
                # Sent empty, it is ignored (a first sync), as the server does.
                "allowEmptyValue": True,
            },
        ]
