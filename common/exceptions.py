"""Domain exceptions: what an action refuses, as plain Python.

Actions raise these whoever called them (the API, the admin, a task). They know nothing of
HTTP: `common.api.errors.ExceptionHandler` maps them to the one error shape of the API, and
`messages()` gives the admin the texts to show on a form, each with the field it concerns.
"""

from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A refusal with a message, a machine-readable code and the HTTP status it maps to."""

    status_code = 400
    default_detail: Any = _("The request cannot be carried out.")
    default_code = "invalid"

    def __init__(self, detail: Any = None, code: str | None = None) -> None:
        self.detail = self.default_detail if detail is None else detail
        self.code = code or self.default_code
        super().__init__(str(self.detail))

    def messages(self) -> list[tuple[str | None, str]]:
        """(field path or None, message) pairs, for a form or a message list."""
        return [(None, str(self.detail))]

    def __str__(self) -> str:
        return " ".join(message for _field, message in self.messages())


class Message(str):
    """A message with its own machine-readable code, for `InvalidInput.errors`
    (`Message(_("This field is required."), "required")`)."""

    code: str

    def __new__(cls, text: Any, code: str) -> "Message":
        message = super().__new__(cls, str(text))
        message.code = code
        return message


class InvalidInput(DomainError):
    """A 400 naming the fields at fault: `errors` nests like the input, e.g.
    `{"form_data": {"child": {"birth_date": ["..."]}}}` or `{"items": {"0": {...}}}`."""

    default_detail = _("Invalid input.")

    def __init__(self, errors: dict[str, Any] | list[Any] | str, code: str | None = None) -> None:
        self.errors = errors
        super().__init__(errors, code)

    def messages(self) -> list[tuple[str | None, str]]:
        return list(_flatten(self.errors))

    def get_codes(self) -> Any:
        """The codes of `errors`, nested as the errors are (a message without a code of its
        own, e.g. an `ErrorDetail`, carries this error's code)."""

        def codes(node: Any) -> Any:
            if isinstance(node, dict):
                return {key: codes(value) for key, value in node.items()}
            if isinstance(node, list | tuple):
                return [codes(value) for value in node]
            return getattr(node, "code", None) or self.code

        return codes(self.errors)


def _flatten(detail: Any, prefix: str = "") -> Iterator[tuple[str | None, str]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(detail, list | tuple):
        for value in detail:
            yield from _flatten(value, prefix)
    else:
        yield (prefix if prefix and prefix != "non_field_errors" else None), str(detail)


class NotFound(DomainError):
    status_code = 404
    default_detail = _("Not found.")
    default_code = "not_found"


class NotAllowed(DomainError):
    status_code = 403
    default_detail = _("You may not perform this action.")
    default_code = "permission_denied"


class SecondFactorRequired(NotAllowed):
    """A staff member signed in without their second factor asked for a staff action."""

    default_detail = _("Sign in with your second factor (authenticator code) to act as staff.")
    default_code = "second_factor_required"


class InvalidTransition(DomainError):
    status_code = 409
    default_detail = _("This action is not allowed in the current state.")
    default_code = "invalid_transition"


class Conflict(DomainError):
    """A 409 with a specific code, e.g. `phone_taken` or `already_rated`."""

    status_code = 409
    default_detail = _("The request conflicts with the current state.")
    default_code = "conflict"
