"""The form a service asks for (a JSON Schema on the service): checking what an applicant
fills in, and naming its fields."""

from typing import Any

import jsonschema
from django.utils.translation import gettext as _

from common.exceptions import InvalidInput


def validate_form_data(schema: dict[str, Any], form_data: Any) -> None:
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors: dict[str, Any] = {}
    for error in sorted(validator.iter_errors(form_data), key=lambda e: list(e.path)):
        path = [str(p) for p in error.path]
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [n for n in error.validator_value if n not in error.instance]
            targets = [[*path, name] for name in missing] or [path]
            message = _("This field is required.")
        else:
            targets = [path]
            message = error.message
        for target in targets:
            node = errors
            for key in target[:-1]:
                node = node.setdefault(key, {})
            if target:
                node.setdefault(target[-1], []).append(message)
            else:
                errors.setdefault("non_field_errors", []).append(message)
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
