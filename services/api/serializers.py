"""Input and output shapes of the catalog and dossiers: no queries, no permissions."""

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from common.files import signed_url
from common.i18n import translate
from services.models import ServiceRequest, ServiceRequestAttachment


class TranslatedField(serializers.Field):
    """Reads a `{lang: text}` JSON field in the negotiated language, falling back to `vi`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return translate(value, self.context.get("language", "vi"))


extend_schema_field(OpenApiTypes.STR)(TranslatedField)


class ServiceCategoryOutput(serializers.Serializer):
    code = serializers.SlugField()
    name = TranslatedField()


class ServiceRefOutput(serializers.Serializer):
    code = serializers.SlugField()
    name = TranslatedField()


class AgencyRefOutput(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.SlugField()
    name = serializers.CharField()


class UnitRefOutput(serializers.Serializer):
    code = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.CharField()


class RequiredDocumentOutput(serializers.Serializer):
    name = serializers.SerializerMethodField()
    required = serializers.BooleanField(default=True)  # type: ignore[assignment]
    kinds = serializers.ListField(child=serializers.CharField(), default=list)

    def get_name(self, obj: dict[str, Any]) -> str:
        return translate(obj.get("name"), self.context.get("language", "vi"))


class PublicServiceOutput(serializers.Serializer):
    code = serializers.SlugField()
    name = TranslatedField()
    category = ServiceCategoryOutput()
    level = serializers.CharField()
    processing_days = serializers.IntegerField()
    fee = serializers.IntegerField(help_text="VND")
    online_level = serializers.CharField()


class PublicServiceDetailOutput(PublicServiceOutput):
    national_code = serializers.CharField()
    description = TranslatedField()
    required_documents = RequiredDocumentOutput(many=True)
    form_schema = serializers.JSONField(help_text="JSON Schema of `form_data`.")


class ServiceRequestInput(serializers.Serializer):
    id = serializers.UUIDField(required=False, help_text="Client-chosen id (offline phones).")
    service = serializers.RegexField(r"^[a-z0-9-]+$", max_length=80)
    administrative_unit = serializers.IntegerField(min_value=1, help_text="Commune code.")
    form_data = serializers.DictField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ServiceRequestEventOutput(serializers.Serializer):
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField()
    internal = serializers.BooleanField()
    at = serializers.DateTimeField(source="created_at")


class ServiceRequestAttachmentInput(serializers.Serializer):
    file = serializers.FileField(
        help_text=(
            "JPEG, PNG or WebP image, PDF, or AAC/M4A, OGG/Opus, MP3 or AMR audio (at most "
            "300 s), up to 10 MB (default caps). The type is read from the content, never the "
            "name. Images are stored re-encoded as JPEG without metadata."
        )
    )
    kind = serializers.ChoiceField(
        choices=ServiceRequestAttachment.Kind.choices,
        help_text=(
            "document (image or PDF), photo (image), audio: by the applicant while the "
            "dossier is open; result (image or PDF): by staff while in progress or ready."
        ),
    )


class ServiceRequestAttachmentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=ServiceRequestAttachment.Kind.choices)
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
    def get_url(self, obj: ServiceRequestAttachment) -> str:
        return signed_url(self.context.get("request"), obj) or ""

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_preview_url(self, obj: ServiceRequestAttachment) -> str | None:
        return signed_url(self.context.get("request"), obj, "preview")


class ServiceRequestOutput(serializers.Serializer):
    id = serializers.UUIDField()
    tracking_code = serializers.CharField()
    status = serializers.ChoiceField(choices=ServiceRequest.Status.choices)
    service = ServiceRefOutput()
    agency = AgencyRefOutput()
    administrative_unit = UnitRefOutput()
    due_at = serializers.DateTimeField(allow_null=True)
    is_overdue = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ServiceRequestDetailOutput(ServiceRequestOutput):
    form_data = serializers.JSONField()
    note = serializers.CharField()
    allowed_actions = serializers.SerializerMethodField()
    supplement_items = serializers.ListField(child=serializers.DictField(), default=list)
    events = serializers.SerializerMethodField()
    attachments = ServiceRequestAttachmentOutput(many=True)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, obj: ServiceRequest) -> list[str]:
        return self.context["allowed_actions"]

    @extend_schema_field(ServiceRequestEventOutput(many=True))
    def get_events(self, obj: ServiceRequest) -> list[dict[str, Any]]:
        show_internal = self.context.get("show_internal", False)
        events = [e for e in obj.events.all() if show_internal or not e.internal]
        return list(ServiceRequestEventOutput(events, many=True).data)


class ServiceRequestTransitionInput(serializers.Serializer):
    ACTIONS = ("receive", "start", "approve", "return_result", "reject", "cancel", "comment")

    action = serializers.ChoiceField(choices=ACTIONS)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    reason = serializers.CharField(required=False, max_length=2000)
    result = serializers.CharField(required=False, max_length=2000)
    internal = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        needed = {"reject": "reason", "approve": "result", "comment": "note"}.get(attrs["action"])
        if needed and not str(attrs.get(needed, "")).strip():
            raise serializers.ValidationError(
                {needed: [ErrorDetail(_("This field is required."), code="required")]}
            )
        return attrs


class ServiceRequestLookupInput(serializers.Serializer):
    tracking_code = serializers.CharField(
        max_length=40, help_text="As printed (`DV-7K3M-9QX2-H`); case and hyphens do not matter."
    )
    phone_last4 = serializers.RegexField(
        r"^[0-9]{4}$", help_text="The last 4 digits of the applicant's phone number."
    )


class ServiceRequestLookupOutput(serializers.Serializer):
    tracking_code = serializers.CharField()
    status = serializers.ChoiceField(choices=ServiceRequest.Status.choices)
    service = ServiceRefOutput()
    updated_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
