"""simplejwt's errors in the project's one error shape.

simplejwt raises every error with a dict as detail (`detail`, `code`, and for a bad bearer
token `messages` per token class). The error handler would spread that dict into several
errors with made-up `attr`s such as `messages.0.token_class`; clients expect exactly one
error with `attr: null` and a meaningful `code` (`token_not_valid`, `user_inactive`, …).
"""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext_lazy as _
from drf_standardized_errors.handler import ExceptionHandler as StandardizedExceptionHandler
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import AuthenticationFailed as JWTAuthenticationFailed

from common.exceptions import DomainError, InvalidInput, SecondFactorRequired


def plain_jwt_error(exc: Exception) -> Exception:
    """The same error with one message and one code; anything not from simplejwt unchanged."""
    # Every simplejwt error (InvalidToken included) derives from its AuthenticationFailed.
    if not isinstance(exc, JWTAuthenticationFailed) or not isinstance(exc.detail, dict):
        return exc
    detail = exc.detail
    plain = exceptions.AuthenticationFailed(
        detail=_reason(detail) or exc.default_detail,
        code=str(detail.get("code") or exc.default_code),
    )
    plain.status_code = exc.status_code
    # DRF set the WWW-Authenticate challenge on the original exception.
    if hasattr(exc, "auth_header"):
        plain.auth_header = exc.auth_header  # type: ignore[attr-defined]
    return plain


def _reason(detail: dict[str, Any]) -> str:
    # The per-token-class message says why ("Token is expired"); the summary does not.
    messages = detail.get("messages") or []
    if messages and isinstance(messages[0], dict) and messages[0].get("message"):
        return str(messages[0]["message"])
    return str(detail.get("detail") or "")


def api_error(exc: DomainError) -> exceptions.APIException:
    """The HTTP face of a domain refusal (`common.exceptions`): the only place that maps them."""
    if isinstance(exc, InvalidInput):
        error: exceptions.APIException = exceptions.ValidationError(exc.errors, code=exc.code)
    else:
        error = exceptions.APIException(detail=exc.detail, code=exc.code)
    error.status_code = exc.status_code
    if getattr(exc, "wait", None):
        error.wait = exc.wait  # type: ignore[attr-defined]
    return error


class ExceptionHandler(StandardizedExceptionHandler):
    """The project's one error handler: drf-standardized-errors, domain refusals and
    simplejwt's errors."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, RequestDataTooBig):
            too_large = exceptions.APIException(
                _("The request body is too large."), code="request_too_large"
            )
            too_large.status_code = 413
            return too_large
        if isinstance(exc, DomainError):
            if exc.status_code == 403 and self._second_factor_missing():
                exc = SecondFactorRequired()
            exc = api_error(exc)
        return super().convert_known_exceptions(plain_jwt_error(exc))

    def _second_factor_missing(self) -> bool:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return bool(getattr(user, "second_factor_missing", False))
