"""OpenAPI pieces: the schema class and the error shapes drf-standardized-errors lacks."""

import inspect
import json
from collections import Counter, defaultdict
from typing import Any

from drf_spectacular.generators import EndpointEnumerator as SpectacularEndpointEnumerator
from drf_spectacular.generators import SchemaGenerator as SpectacularSchemaGenerator
from drf_spectacular.plumbing import is_serializer
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from drf_standardized_errors.openapi import AutoSchema as StandardizedAutoSchema
from drf_standardized_errors.openapi_utils import (
    get_flat_serializer_fields,
    get_serializer_fields_with_error_codes,
)
from rest_framework import serializers

from common.api import error_codes
from common.api.openapi_lists import ListConventionsSchema
from common.i18n.openapi import LanguageConventionsSchema

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    # What `common.api.idempotency` accepts: 1 to 255 printable ASCII characters.
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "1–255 printable ASCII characters, e.g. a UUID the app makes for this request and "
        "sends again on every retry. Within 24 hours a repeat with the same body gets the "
        "first response again (same status and body) with the header "
        "`Idempotent-Replayed: true`; the same key with another body is a 422 "
        "`idempotency_key_reused`; a repeat while the first is still running is a 409 "
        "`idempotency_in_progress` with `Retry-After`. A malformed key is a 400 "
        "`invalid_idempotency_key`."
    ),
)
_IN_PROGRESS_NOTE = (
    "`idempotency_in_progress`: a request with this Idempotency-Key is still running; retry "
    "after `Retry-After` seconds."
)


class AutoSchema(LanguageConventionsSchema, ListConventionsSchema, StandardizedAutoSchema):
    """Every operation documents its errors in the one error shape.

    Operations whose view method is wrapped by `common.api.idempotency.idempotent` also document
    the `Idempotency-Key` header and its 400, 409 and 422 answers, so the schema cannot drift
    from the views.
    """

    def _is_idempotent(self) -> bool:
        handler = getattr(self.view, self.method.lower(), None)
        return bool(getattr(handler, "idempotent", False))

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._is_idempotent():
            parameters.append(IDEMPOTENCY_KEY_PARAMETER)
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction=direction)
        if direction != "response" or not self._is_idempotent():
            return responses
        if "409" in responses:
            described = str(responses["409"].get("description") or "").strip()
            responses["409"]["description"] = f"{described} {_IN_PROGRESS_NOTE}".strip()
        else:
            responses["409"] = self._get_response_for_code(
                OpenApiResponse(ErrorResponse409, description=_IN_PROGRESS_NOTE), "409"
            )
        responses["422"] = self._get_response_for_code(KEY_REUSED_RESPONSE, "422")
        return responses

    def _request_bodies_by_media_type(self) -> list[Any] | None:
        # A view may take one body per media type (a multipart file, or JSON naming a
        # finished upload); drf-standardized-errors expects a single serializer.
        if self.method not in ("PUT", "PATCH", "POST"):
            return None
        serializer = self.get_request_serializer()
        if not isinstance(serializer, dict):
            return None
        return [body for body in serializer.values() if is_serializer(body)]

    def _determine_fields_with_error_codes(self) -> Any:
        bodies = self._request_bodies_by_media_type()
        if bodies is None:
            return super()._determine_fields_with_error_codes()
        return get_serializer_fields_with_error_codes(get_flat_serializer_fields(bodies))

    def _should_add_validation_error_response(self) -> bool:
        adds = bool(self._request_bodies_by_media_type()) or bool(
            super()._should_add_validation_error_response()
        )
        if adds:
            # The codes this operation's fields can answer go into the 400 enum.
            for field in self._determine_fields_with_error_codes():
                error_codes.collect(400, field.error_codes)
            for codes in self._get_extra_validation_errors().values():
                error_codes.collect(400, codes)
        return adds

    def get_description(self) -> str:  # type: ignore[override]
        # Only what the view and its method say of themselves: a docstring inherited from a
        # mixin (language negotiation, ETags) describes the machinery, not the operation.
        view_class = type(self.view)
        name = getattr(self.view, "action", None) or self.method.lower()
        own = getattr(getattr(self.view, name, None), "__doc__", None)
        # The class's docstring speaks for a view of one method, or for the GET of a list
        # that also creates.
        if not own and (self.method == "GET" or not hasattr(view_class, "get")):
            own = view_class.__dict__.get("__doc__")
        return inspect.cleandoc(own) if own else ""

    def _should_add_http403_error_response(self) -> bool:
        # A view that names the methods refusing with 403 (a role, separation of duties)
        # says it better than its permission classes can.
        named = getattr(self.view, "forbidden_methods", None)
        if named is not None:
            return self.method in named
        return bool(super()._should_add_http403_error_response())

    def _get_error_response_examples(self) -> list[Any]:
        # The package's generic examples (one per status, on every operation) say nothing
        # about the operation and made up a fifth of the spec.
        return []


def _error_serializers(
    status: int,
) -> tuple[type[serializers.Serializer], type[serializers.Serializer]]:
    """`Error<status>` (one error) and `ErrorResponse<status>` (the body): one pair per
    status, shared by every operation; `postprocess_errors` writes the enums of `type` and
    `code` into the spec."""
    item = type(
        f"Error{status}",
        (serializers.Serializer,),
        {
            "code": serializers.CharField(help_text="Machine-readable; see the enum."),
            "detail": serializers.CharField(help_text="For people, in the request's language."),
            "attr": serializers.CharField(
                allow_null=True,
                help_text="The field at fault as a dotted path (`form_data.child.full_name`), "
                "a header name, or null for the request as a whole.",
            ),
            "__module__": __name__,
        },
    )
    body = type(
        f"ErrorResponse{status}",
        (serializers.Serializer,),
        {
            "type": serializers.CharField(
                help_text="validation_error, client_error or server_error"
            ),
            "errors": item(many=True),
            "__module__": __name__,
        },
    )
    return item, body


ERROR_STATUSES = (400, 401, 403, 404, 409, 410, 412, 413, 422, 429, 500)
ERROR_RESPONSES = {status: _error_serializers(status)[1] for status in ERROR_STATUSES}
ErrorResponse400 = ERROR_RESPONSES[400]
ErrorResponse401 = ERROR_RESPONSES[401]
ErrorResponse403 = ERROR_RESPONSES[403]
ErrorResponse404 = ERROR_RESPONSES[404]
ErrorResponse409 = ERROR_RESPONSES[409]
ErrorResponse410 = ERROR_RESPONSES[410]
ErrorResponse412 = ERROR_RESPONSES[412]
ErrorResponse413 = ERROR_RESPONSES[413]
ErrorResponse422 = ERROR_RESPONSES[422]
ErrorResponse429 = ERROR_RESPONSES[429]
ErrorResponse500 = ERROR_RESPONSES[500]
# What drf-standardized-errors attaches to each operation (ALLOWED_ERROR_STATUS_CODES):
# the shared components above instead of one 400 component per operation.
ERROR_SCHEMAS = {str(status): ERROR_RESPONSES[status] for status in (400, 401, 403, 404, 429, 500)}

CONFLICT_RESPONSE = OpenApiResponse(ErrorResponse409, description="Conflict with current state.")
KEY_REUSED_RESPONSE = OpenApiResponse(
    ErrorResponse422,
    description="`idempotency_key_reused`: this Idempotency-Key came with a different request.",
)
GONE_RESPONSE = OpenApiResponse(
    ErrorResponse410, description="`link_expired`: the signed link is past its lifetime."
)
FILE_TOO_LARGE_RESPONSE = OpenApiResponse(
    ErrorResponse413, description="`file_too_large`: the file is over the cap for its type."
)
UNSUPPORTED_TUS_VERSION_RESPONSE = OpenApiResponse(
    ErrorResponse412,
    description="`unsupported_tus_version`: `Tus-Resumable` is not `1.0.0`; the answer "
    "carries `Tus-Version`.",
)
HEADER_ERROR_RESPONSE = OpenApiResponse(
    ErrorResponse400,
    description="A tus header is missing or malformed (`attr` names it), or the "
    "Idempotency-Key is malformed.",
)


def postprocess_errors(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """Write the complete enum of `type` and `code` into each status's error components.

    405, 406 and 415 have no component: the spec's introduction describes them once
    (SPECTACULAR_SETTINGS), as no operation lists them."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    codes = error_codes.codes_by_status()
    for status in ERROR_STATUSES:
        item, body = schemas.get(f"Error{status}"), schemas.get(f"ErrorResponse{status}")
        if item is None or body is None:
            continue
        item["properties"]["code"]["enum"] = codes.get(status, [])
        body["properties"]["type"]["enum"] = error_codes.error_types(status)
        body["properties"]["type"].pop("description", None)
    return result


# What an answer means when its operation says nothing more specific.
RESPONSE_DESCRIPTIONS = {
    "200": "Success.",
    "201": "Created.",
    "202": "Accepted: the work goes on after the answer.",
    "204": "Done; no body.",
    "304": "Not modified: what you hold is current. No body.",
    "400": "Bad input: `attr` names the field, header or parameter at fault.",
    "401": "Not signed in, or the access token expired (`token_not_valid`: refresh it).",
    "403": "Signed in, but not allowed to do this.",
    "404": "No such item, or not one the caller may see.",
    "409": "Conflicts with the item's current state.",
    "413": "Too large.",
    "422": "This Idempotency-Key came with a different request.",
    "429": "Too many requests: wait `Retry-After` seconds.",
    "500": "Server error: retry later (with the same Idempotency-Key for a create).",
}


def postprocess_descriptions(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """Every response has a description: the operation's own, else its status's."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if "$ref" not in response and not response.get("description"):
                    response["description"] = RESPONSE_DESCRIPTIONS.get(status, "")
    return result


# Byte counts and offsets: a 64-bit integer in every generated client (a tus upload may
# pass 2 GiB).
INT64_HEADERS = frozenset({"Upload-Offset", "Upload-Length", "Tus-Max-Size"})
SHARED_HEADERS = {
    "RetryAfter": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "IdempotentReplayed": {
        "description": "`true` when this is the stored answer to an earlier request with "
        "the same Idempotency-Key (nothing was done again).",
        "schema": {"type": "string", "enum": ["true"]},
    },
}


def postprocess_headers(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """The response headers clients act on: `Retry-After` on 429 (and on the 409 of an
    idempotent request still running), `Idempotent-Replayed` on the successes of idempotent
    operations; tus byte counts as 64-bit integers."""
    components = result.setdefault("components", {})
    components.setdefault("headers", {}).update(SHARED_HEADERS)
    for schema in components.get("schemas", {}).values():
        size = schema.get("properties", {}).get("size")
        if size is not None and size.get("type") == "integer":
            size["format"] = "int64"
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            parameters = operation.get("parameters", [])
            idempotent = any(p.get("name") == IDEMPOTENCY_KEY_PARAMETER.name for p in parameters)
            for parameter in parameters:
                if parameter.get("in") == "header" and parameter.get("name") in INT64_HEADERS:
                    parameter["schema"] = {"type": "integer", "format": "int64", "minimum": 0}
            for status, response in operation.get("responses", {}).items():
                headers = response.get("headers", {})
                for name, header in headers.items():
                    if name in INT64_HEADERS:
                        header["schema"] = {"type": "integer", "format": "int64", "minimum": 0}
                wanted = []
                if status == "429" or (status == "409" and idempotent):
                    wanted.append(("Retry-After", "RetryAfter"))
                if idempotent and status.startswith("2"):
                    wanted.append(("Idempotent-Replayed", "IdempotentReplayed"))
                for name, component in wanted:
                    headers[name] = {"$ref": f"#/components/headers/{component}"}
                if headers and "$ref" not in response:
                    response["headers"] = headers
    return result


# Parameters and headers many operations share: defined once in `components` and referred
# to, which keeps the spec small (their descriptions are long) without saying less.
SHARED_PARAMETERS = frozenset(
    {
        "lang",
        "Accept-Language",
        "Idempotency-Key",
        "If-None-Match",
        "page_size",
        "cursor",
        "updated_since",
    }
)
SHARED_RESPONSE_HEADERS = frozenset({"Content-Language", "ETag"})
# Query parameters the server reads as absent when sent empty (`?lang=&parent=`).
BLANK_IS_ABSENT = frozenset(
    {
        "lang",
        "updated_since",
        "parent",
        "administrative_unit",
        "province",
        "commune",
        "category",
        "fields",
        "page_size",
        "status",
        "level",
    }
)


def postprocess_request_bodies(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """A body with a required field is itself required (a request without one is a 400):
    drf-spectacular leaves `required` out for a `oneOf` body such as a transition's."""
    schemas = result.get("components", {}).get("schemas", {})

    def needs_fields(schema: dict[str, Any]) -> bool:
        ref = schema.get("$ref", "")
        if ref:
            return needs_fields(schemas.get(ref.rsplit("/", 1)[-1], {}))
        branches = schema.get("oneOf") or schema.get("anyOf")
        if branches:
            return all(needs_fields(branch) for branch in branches)
        return bool(schema.get("required"))

    for item in result.get("paths", {}).values():
        for operation in item.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body is None or body.get("required"):
                continue
            if any(needs_fields(media.get("schema", {})) for media in body["content"].values()):
                body["required"] = True
    return result


def postprocess_shared_parts(
    result: dict[str, Any], generator: Any, request: Any, public: Any
) -> dict[str, Any]:
    """Refer to shared parameters, headers and plain error answers instead of repeating
    them: a parameter or header defined the same way everywhere goes to `components`; an
    error answer that says no more than its status's default becomes
    `components.responses.Error<status>`."""
    components = result.setdefault("components", {})
    parameters = components.setdefault("parameters", {})
    headers = components.setdefault("headers", {})
    responses = components.setdefault("responses", {})
    seen_parameters: dict[str, dict[str, Any]] = {}
    seen_headers: dict[str, dict[str, Any]] = {}
    operations = [
        operation
        for item in result.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "responses" in operation
    ]
    for operation in operations:
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "query" and parameter.get("name") in BLANK_IS_ABSENT:
                parameter["allowEmptyValue"] = True
    # Shared only where every occurrence is identical.
    for operation in operations:
        for parameter in operation.get("parameters", []):
            name = parameter.get("name")
            if name in SHARED_PARAMETERS:
                seen_parameters.setdefault(_component_name(name), parameter)
                if seen_parameters[_component_name(name)] != parameter:
                    seen_parameters[_component_name(name)] = {}
        for response in operation["responses"].values():
            for name, header in response.get("headers", {}).items():
                if name in SHARED_RESPONSE_HEADERS:
                    seen_headers.setdefault(_component_name(name), header)
                    if seen_headers[_component_name(name)] != header:
                        seen_headers[_component_name(name)] = {}
    parameters.update({key: value for key, value in seen_parameters.items() if value})
    headers.update({key: value for key, value in seen_headers.items() if value})
    for operation in operations:
        operation["parameters"] = [
            {"$ref": f"#/components/parameters/{_component_name(p['name'])}"}
            if p.get("name") in SHARED_PARAMETERS and _component_name(p["name"]) in parameters
            else p
            for p in operation.get("parameters", [])
        ]
        if not operation["parameters"]:
            del operation["parameters"]
        for response in operation["responses"].values():
            for name in list(response.get("headers", {})):
                if name in SHARED_RESPONSE_HEADERS and _component_name(name) in headers:
                    response["headers"][name] = {
                        "$ref": f"#/components/headers/{_component_name(name)}"
                    }
    # A plain error answer (the status's default description and error body) is shared:
    # the commonest form of each status (usually with `Content-Language`) goes to
    # `components.responses`, and the answers exactly like it refer to it.
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    for operation in operations:
        for status, response in operation["responses"].items():
            if _is_plain_error(status, response):
                forms[status][json.dumps(response, sort_keys=True)] += 1
    for status, counted in forms.items():
        responses[f"Error{status}"] = json.loads(counted.most_common(1)[0][0])
    for operation in operations:
        for status, response in operation["responses"].items():
            if response == responses.get(f"Error{status}") and _is_plain_error(status, response):
                operation["responses"][status] = {"$ref": f"#/components/responses/Error{status}"}
    return result


def _is_plain_error(status: str, response: dict[str, Any]) -> bool:
    return {key: value for key, value in response.items() if key != "headers"} == {
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/ErrorResponse{status}"}}
        },
        "description": RESPONSE_DESCRIPTIONS.get(status, ""),
    }


def _component_name(name: str) -> str:
    """`Accept-Language` → `AcceptLanguage`, `page_size` → `PageSize`."""
    return "".join(part[:1].upper() + part[1:] for part in name.replace("_", "-").split("-"))


class EndpointEnumerator(SpectacularEndpointEnumerator):
    """Also lists HEAD and OPTIONS for views that name them in `documented_extra_methods`:
    tus puts part of its protocol there."""

    def get_allowed_methods(self, callback: Any) -> list[str]:
        methods = list(super().get_allowed_methods(callback))
        view_class = getattr(callback, "cls", None)
        extra = getattr(view_class, "documented_extra_methods", ())
        return methods + [
            method
            for method in extra
            if method not in methods and hasattr(view_class, method.lower())
        ]


class SchemaGenerator(SpectacularSchemaGenerator):
    endpoint_inspector_cls = EndpointEnumerator
