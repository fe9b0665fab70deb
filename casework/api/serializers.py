"""Shapes every kind of case shares: no queries, no permissions.

Each app subclasses these under its own names (`ServiceRequestEventOutput`,
`FeedbackEventOutput`, …): drf-spectacular names schema components after the class, and
the generated clients keep the names they had.
"""

import copy
import re
from typing import Any

from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from common.files import signed_url
from common.files.uploads import upload_id_field
from common.i18n import translate


class TranslatedField(serializers.Field):
    """Reads a `{lang: text}` JSON field in the negotiated language, falling back to `vi`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return translate(value, self.context.get("language", "vi"))


extend_schema_field(OpenApiTypes.STR)(TranslatedField)


class AgencyRefOutput(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.SlugField()
    name = serializers.CharField()


class UnitRefOutput(serializers.Serializer):
    code = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.CharField()


class CaseEventOutput(serializers.Serializer):
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField()
    internal = serializers.BooleanField()
    at = serializers.DateTimeField(source="created_at")


# A stored file of a case; subclasses re-declare `kind` with their choices (it keeps its
# place: DRF orders a re-declared field where the base put it).
class CaseAttachmentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=())
    content_type = serializers.CharField(help_text="Detected from the content.")
    size = serializers.IntegerField(help_text="Bytes, as stored.")
    name = serializers.CharField()
    url = serializers.SerializerMethodField(
        help_text="Signed download link, valid for a few minutes."
    )
    preview_url = serializers.SerializerMethodField(
        help_text="Signed link to a small JPEG preview (images only), else null."
    )
    created_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Any) -> str:
        return signed_url(self.context.get("request"), obj) or ""

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_preview_url(self, obj: Any) -> str | None:
        return signed_url(self.context.get("request"), obj, "preview")


def attachment_shapes(
    prefix: str, choices: Any, file_help: str, kind_help: str
) -> tuple[type, type, type]:
    """The multipart body (`file`, `kind`), the JSON body (`upload_id`, `kind`) and the
    output of a kind's attachments, named `<prefix>AttachmentInput`, `…UploadInput` and
    `…Output` (the names the spec's components carry)."""

    class MultipartInput(serializers.Serializer):
        file = serializers.FileField(help_text=file_help)
        kind = serializers.ChoiceField(choices=choices, help_text=kind_help)

    class UploadInput(serializers.Serializer):
        upload_id = upload_id_field()
        kind = serializers.ChoiceField(choices=choices, help_text=kind_help)

    class Output(CaseAttachmentOutput):
        kind = serializers.ChoiceField(choices=choices)

    named = (
        (f"{prefix}AttachmentInput", MultipartInput),
        (f"{prefix}AttachmentUploadInput", UploadInput),
        (f"{prefix}AttachmentOutput", Output),
    )
    return tuple(  # type: ignore[return-value]
        type(name, (base,), {"__module__": __name__, "__qualname__": name}) for name, base in named
    )


# The detail of a case: what the caller may do now, and the timeline (internal notes only
# for handlers). A subclass declares `allowed_actions` and `events` as method fields where
# it wants them among its fields, and names its `event_output` (which documents `events`
# in the spec). A comment, not a docstring: the spec would show it on every subclass.
class CaseDetailMixin:
    event_output: type[serializers.Serializer] = CaseEventOutput

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        output = cls.__dict__.get("event_output")
        if output is not None:
            # A function of the subclass's own, so each documents its own event type.
            def get_events(self: CaseDetailMixin, obj: Any) -> list[dict[str, Any]]:
                return self.timeline(obj)

            cls.get_events = extend_schema_field(output(many=True))(get_events)  # type: ignore[method-assign]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, obj: Any) -> list[str]:
        return self.serializer_context["allowed_actions"]  # type: ignore[no-any-return]

    def get_events(self, obj: Any) -> list[dict[str, Any]]:
        return self.timeline(obj)

    @property
    def serializer_context(self) -> dict[str, Any]:
        return getattr(self, "context", {})  # type: ignore[no-any-return]

    def timeline(self, obj: Any) -> list[dict[str, Any]]:
        show_internal = self.serializer_context.get("show_internal", False)
        events = [e for e in obj.events.all() if show_internal or not e.internal]
        return list(self.event_output(events, many=True).data)


# The body of a state-table action: subclasses declare `action` and every field any action
# takes, and name in `required_by_action` the fields each action needs (a blank string counts
# as missing); the case's `Workflow.required_by_action()` gives them from its table.
class ActionInput(serializers.Serializer):
    required_by_action: dict[str, tuple[str, ...]] = {}
    accepted_by_action: dict[str, frozenset[str]] = {}

    def to_internal_value(self, data: Any) -> Any:
        # Fields the chosen action does not read are ignored, not checked: the spec types
        # the body per action, and what one action would refuse another never looks at.
        action = data.get("action") if isinstance(data, dict) else None
        accepted = self.accepted_by_action.get(action) if isinstance(action, str) else None
        if accepted is not None:
            data = {key: value for key, value in data.items() if key in accepted}
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = {
            name: [ErrorDetail(gettext("This field is required."), code="required")]
            for name in self.required_by_action.get(attrs["action"], ())
            if name not in attrs or (isinstance(attrs[name], str) and not attrs[name].strip())
        }
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def action_bodies(prefix: str, actions: dict[str, Any], body: type[ActionInput]) -> Any:
    """The transition body documented as one object per action, discriminated by
    `action`: each lists the fields its action requires (`Action.needs`) and reads (`note`,
    `Action.takes`, `internal` where the note may be internal), typed as `body` types them.
    Validation stays with `body`; this is what a generated client builds requests from."""
    declared = body._declared_fields
    shapes: dict[str, Any] = {}
    for name, action in actions.items():
        fields: dict[str, Any] = {"action": _constant(name)}
        for field_name in ("note", *action.takes, *action.needs):
            fields[field_name] = _remade(declared[field_name], required=field_name in action.needs)
        if action.may_be_internal:
            fields["internal"] = _remade(declared["internal"], required=False)
        camel = "".join(part.capitalize() for part in name.split("_"))
        fields["__module__"] = body.__module__
        shapes[name] = type(f"{prefix}{camel}Action", (serializers.Serializer,), fields)
    return PolymorphicProxySerializer(
        component_name=f"{prefix}Action",
        serializers=shapes,
        resource_type_field_name="action",
    )


def _remade(field: Any, *, required: bool) -> Any:
    """A new field like `field` (a field is rebuilt from its arguments whenever a serializer
    is instantiated, so attributes set afterwards would not last)."""
    if isinstance(field, serializers.ListSerializer):
        # `Item(many=True)`: the list is rebuilt from the item's class.
        child: Any = type(field.child)
        return child(many=True, required=required)
    kwargs: dict[str, Any] = {
        # A ListField's `child`, bound to the list once, is rebuilt unbound.
        name: copy.deepcopy(value) if isinstance(value, serializers.Field) else value
        for name, value in field._kwargs.items()
    }
    kwargs["required"] = required
    if required:
        kwargs.pop("default", None)
    return type(field)(*field._args, **kwargs)


def _constant(value: str) -> serializers.Field:
    """A string field documented as the one value `value` (a pattern rather than a
    one-value enum, which the spec's enum naming would hoist into a component per action)."""

    @extend_schema_field({"type": "string", "pattern": f"^{re.escape(value)}$"})
    class Constant(serializers.CharField):
        pass

    return Constant()


class RatingInput(serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class RatingOutput(serializers.Serializer):
    score = serializers.IntegerField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()
