"""OpenAPI pieces: the schema class and the error shapes drf-standardized-errors lacks."""

from typing import Any, cast

from drf_spectacular.generators import EndpointEnumerator as SpectacularEndpointEnumerator
from drf_spectacular.generators import SchemaGenerator as SpectacularSchemaGenerator
from drf_spectacular.plumbing import is_serializer
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer
from drf_standardized_errors.openapi import AutoSchema as StandardizedAutoSchema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ValidationErrorEnum
from drf_standardized_errors.openapi_utils import (
    get_flat_serializer_fields,
    get_serializer_fields_with_error_codes,
)
from rest_framework import serializers

from common.api.openapi_lists import ListConventionsSchema
from common.i18n.openapi import LanguageConventionsSchema

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
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

    def _should_add_validation_error_response(self) -> bool:
        return bool(self._request_bodies_by_media_type()) or bool(
            super()._should_add_validation_error_response()
        )

    def _determine_fields_with_error_codes(self) -> Any:
        bodies = self._request_bodies_by_media_type()
        if bodies is None:
            return super()._determine_fields_with_error_codes()
        return get_serializer_fields_with_error_codes(get_flat_serializer_fields(bodies))

    def _get_http400_serializer(self) -> Any:
        proxy = cast(PolymorphicProxySerializer, super()._get_http400_serializer())
        if not self._is_idempotent():
            return proxy
        # The header is not part of the body, so its error is a client error like a parse
        # error rather than a validation error of some field.
        return PolymorphicProxySerializer(
            component_name=proxy.component_name,
            serializers={**proxy.serializers, "client_error": ErrorResponse400Client},
            resource_type_field_name="type",
        )


class Error400Client(serializers.Serializer):
    code = serializers.CharField(help_text="parse_error or invalid_idempotency_key")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse400Client(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error400Client(many=True)  # type: ignore[assignment]


class Error409(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. invalid_transition, phone_taken, already_rated")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse409(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error409(many=True)  # type: ignore[assignment]


class Error422(serializers.Serializer):
    code = serializers.CharField(help_text="idempotency_key_reused")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse422(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error422(many=True)  # type: ignore[assignment]


CONFLICT_RESPONSE = OpenApiResponse(ErrorResponse409, description="Conflict with current state.")
KEY_REUSED_RESPONSE = OpenApiResponse(
    ErrorResponse422,
    description="`idempotency_key_reused`: this Idempotency-Key came with a different request.",
)


class Error410(serializers.Serializer):
    code = serializers.CharField(help_text="link_expired")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse410(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error410(many=True)  # type: ignore[assignment]


class Error413(serializers.Serializer):
    code = serializers.CharField(help_text="file_too_large")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True, help_text="The form field, e.g. `file`.")


class ErrorResponse413(serializers.Serializer):
    # A validation error (it names the field) with its own status, so clients can tell
    # "make it smaller" from other bad input without parsing codes.
    type = serializers.ChoiceField(choices=ValidationErrorEnum.choices)
    errors = Error413(many=True)  # type: ignore[assignment]


GONE_RESPONSE = OpenApiResponse(
    ErrorResponse410, description="`link_expired`: the signed link is past its lifetime."
)
FILE_TOO_LARGE_RESPONSE = OpenApiResponse(
    ErrorResponse413, description="`file_too_large`: the file is over the cap for its type."
)


class Error412(serializers.Serializer):
    code = serializers.CharField(help_text="unsupported_tus_version")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse412(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error412(many=True)  # type: ignore[assignment]


class HeaderError(serializers.Serializer):
    code = serializers.CharField(
        help_text="required, invalid, max_length, upload_length_exceeded, invalid_idempotency_key"
    )
    detail = serializers.CharField()
    attr = serializers.CharField(
        allow_null=True, help_text="The header at fault, e.g. `Upload-Length`, or null."
    )


class HeaderErrorResponse(serializers.Serializer):
    # A bad header names itself in `attr` (validation_error); a problem with the request
    # as a whole has `attr: null` (client_error).
    type = serializers.CharField(help_text="validation_error or client_error")
    errors = HeaderError(many=True)  # type: ignore[assignment]


UNSUPPORTED_TUS_VERSION_RESPONSE = OpenApiResponse(
    ErrorResponse412,
    description="`unsupported_tus_version`: `Tus-Resumable` is not `1.0.0`; the answer "
    "carries `Tus-Version`.",
)
HEADER_ERROR_RESPONSE = OpenApiResponse(
    HeaderErrorResponse, description="A tus header is missing or malformed."
)


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
