"""The form a service asks for (a JSON Schema on the service): checking what an applicant
fills in, and naming its fields."""

from typing import Any

import jsonschema
from django.utils.translation import gettext as _

from common.exceptions import InvalidInput, Message

# The codes of JSON Schema keywords, named as DRF names the same checks on its own fields.
_CODES = {
    "type": "invalid",
    "enum": "invalid_choice",
    "const": "invalid_choice",
    "maxLength": "max_length",
    "minLength": "min_length",
    "maximum": "max_value",
    "minimum": "min_value",
    "exclusiveMaximum": "max_value",
    "exclusiveMinimum": "min_value",
    "maxItems": "max_length",
    "minItems": "min_length",
    "additionalProperties": "unknown_field",
}


def validate_form_data(schema: dict[str, Any], form_data: Any) -> None:
    """Raise `InvalidInput` naming every field of `form_data` that `schema` refuses: once
    per field and problem, a missing field with code `required`."""
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors: dict[str, Any] = {}
    for error in sorted(validator.iter_errors(form_data), key=lambda e: list(e.path)):
        path = [str(p) for p in error.path]
        if error.validator == "required" and isinstance(error.instance, dict):
            # One error per missing name, each listing all of them: the name is in the
            # message's place, so it is recovered from the instance once per path.
            missing = [n for n in error.validator_value if n not in error.instance]
            targets = [[*path, name] for name in missing] or [path]
            message = Message(_("This field is required."), "required")
        else:
            targets = [path]
            message = Message(error.message, _CODES.get(str(error.validator), "invalid"))
        for target in targets:
            node = errors
            for key in target[:-1]:
                node = node.setdefault(key, {})
            messages = (
                node.setdefault(target[-1], [])
                if target
                else errors.setdefault("non_field_errors", [])
            )
            if message not in messages:
                messages.append(message)
    if errors:
        raise InvalidInput({"form_data": errors})


def form_field_exists(schema: dict[str, Any], dotted: str) -> bool:
    node: Any = schema
    for part in dotted.split("."):
        properties = node.get("properties") if isinstance(node, dict) else None
        if not isinstance(properties, dict) or part not in properties:
            return False
        node = properties[part]
    return True
