"""The OpenAPI of the list and detail conventions, derived from the views' mixins.

A view that mixes in `FieldsMixin` documents `?fields=`; one that mixes in `ETagMixin`
documents `If-None-Match`, the `ETag` header and the 304; a paginated list documents the 400 of
`?page_size=`, and a sync list (`SyncCursorPagination`) `?updated_since=` and its 400. The
schema cannot drift from what the views do, and no view repeats it.
"""

from collections.abc import Iterable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from common.api.mixins import FIELDS_PARAM, ETagMixin, FieldsMixin
from common.api.pagination import CursorPagination, SyncCursorPagination
from common.api.sync import UPDATED_SINCE_PARAM


def fields_parameter(names: Iterable[str]) -> OpenApiParameter:
    """`?fields=a,b`: the top-level fields to keep, among `names`."""
    return OpenApiParameter(
        FIELDS_PARAM,
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        many=True,
        explode=False,
        style="form",
        enum=list(names),
        description=(
            "Comma-separated top-level fields to keep in each item (or in the object), e.g. "
            "`fields=id,status`. An unknown name is a 400 on `fields`."
        ),
    )


IF_NONE_MATCH_PARAMETER = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "ETags of representations you hold (comma-separated), or `*`. When one is current the "
        "answer is 304 with no body."
    ),
)
ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 304],
    description=(
        "Tag of this representation (body and `Content-Language`); send it back in "
        '`If-None-Match`. Strong, or weak (`W/"…"`) when the body is compressed '
        "(`Content-Encoding`): either form answers 304 while current."
    ),
)
NOT_MODIFIED_RESPONSE = OpenApiResponse(
    description="Not modified: the representation named in `If-None-Match` is current. No body."
)


class ListConventionsSchema:
    """AutoSchema mixin: documents what `common.api.mixins` and `common.api.pagination` do at
    run time."""

    view: Any
    method: str

    def _paginated_list(self) -> CursorPagination | None:
        paginator = self._get_paginator()  # type: ignore[attr-defined]
        if self.method != "GET" or not isinstance(paginator, CursorPagination):
            return None
        return paginator if self._is_list_view() else None  # type: ignore[attr-defined]

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())  # type: ignore[misc]
        if self.method != "GET":
            return parameters
        if isinstance(self.view, FieldsMixin):
            parameters.append(fields_parameter(self.view.get_field_names()))
        if isinstance(self.view, ETagMixin):
            parameters += [IF_NONE_MATCH_PARAMETER, ETAG_HEADER]
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction=direction)  # type: ignore[misc]
        if direction == "response" and self.method == "GET" and isinstance(self.view, ETagMixin):
            responses["304"] = self._get_response_for_code(  # type: ignore[attr-defined]
                NOT_MODIFIED_RESPONSE, "304"
            )
        return responses

    def _get_extra_validation_errors(self) -> dict[str, set[str]]:
        extra = dict(super()._get_extra_validation_errors())  # type: ignore[misc]
        if self.method != "GET":
            return extra
        if isinstance(self.view, FieldsMixin):
            extra[FIELDS_PARAM] = {"invalid"}
        paginator = self._paginated_list()
        if paginator is not None:
            extra[paginator.page_size_query_param] = {"invalid"}  # type: ignore[index]
            if isinstance(paginator, SyncCursorPagination):
                extra[UPDATED_SINCE_PARAM] = {"invalid"}
        return extra


def postprocess_partial_objects(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """An object `?fields=` can trim requires only its `id`.

    A trimmed answer lacks the fields not asked for; a generated client that believed them
    required would fail to decode it. Without `fields` every field is still sent (the
    property descriptions stay), so the price is optional types in clients, not missing data.
    """
    schemas = result.get("components", {}).get("schemas", {})
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            names = {p.get("name") for p in operation.get("parameters", [])}
            if FIELDS_PARAM not in names:
                continue
            ok = operation.get("responses", {}).get("200", {})
            schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
            component = _component(schemas, schema)
            results = (component or {}).get("properties", {}).get("results")
            if results is not None:
                component = _component(schemas, results.get("items", {}))
            if component is not None and "required" in component:
                component["required"] = [name for name in component["required"] if name == "id"]
                if not component["required"]:
                    del component["required"]
    return result


def _component(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any] | None:
    ref = schema.get("$ref", "")
    return schemas.get(ref.rsplit("/", 1)[-1]) if ref else None
