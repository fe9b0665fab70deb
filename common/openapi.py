"""OpenAPI pieces: the schema class and the error shapes drf-standardized-errors lacks."""

from drf_spectacular.utils import OpenApiResponse
from drf_standardized_errors.openapi import AutoSchema as StandardizedAutoSchema
from rest_framework import serializers


class AutoSchema(StandardizedAutoSchema):
    """Every operation documents its errors in the one error shape."""


class Error409(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. invalid_transition, phone_taken, already_rated")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse409(serializers.Serializer):
    type = serializers.ChoiceField(choices=[("client_error", "client_error")])
    errors = Error409(many=True)  # type: ignore[assignment]


CONFLICT_RESPONSE = OpenApiResponse(ErrorResponse409, description="Conflict with current state.")
