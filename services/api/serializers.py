"""Input and output shapes of the catalog and dossiers: no queries, no permissions."""

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from casework.api import serializers as case_shapes
from common.files import signed_url
from common.i18n import translate
from common.text import strip_bidi_controls
from services.actions import DOSSIERS
from services.audio_help import prefetched_audio_help
from services.models import (
    AudioHelp,
    ServiceRequest,
    ServiceRequestAttachment,
    SupplementItemKind,
)


class ServiceCategoryOutput(serializers.Serializer):
    code = serializers.SlugField()
    name = case_shapes.TranslatedField()


class AudioHelpOutput(serializers.Serializer):
    language = serializers.CharField(
        help_text="The recording's language: the answer's, or `vi` when there is none in it."
    )
    url = serializers.SerializerMethodField(
        help_text="Signed download link, valid for at least a day (stable for half a day, so "
        "the service's ETag holds)."
    )
    duration = serializers.FloatField(help_text="Seconds.")
    content_type = serializers.CharField(help_text="Detected from the content, e.g. audio/mp4.")

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: AudioHelp) -> str:
        # Public content: a link for a day, the same one for half a day, so the catalog's
        # bodies and ETags stay put while the recording does (a phone gets its 304s).
        ttl = settings.AUDIO_HELP_URL_TTL_SECONDS
        return signed_url(self.context.get("request"), obj, ttl=ttl, window=ttl // 2) or ""


# `audio_help` of a service or a category fetched with `services.audio_help.with_audio_help`
# (a comment, not a docstring: the schema would show it as the description of every output).
class AudioHelpMixin(serializers.Serializer):
    audio_help = serializers.SerializerMethodField(
        help_text=(
            "A short recorded explanation in the answer's language (else in Vietnamese), "
            "or null when there is none."
        )
    )

    @extend_schema_field(AudioHelpOutput(allow_null=True))
    def get_audio_help(self, obj: Any) -> dict[str, Any] | None:
        audio = prefetched_audio_help(obj, self.context.get("language", "vi"))
        return AudioHelpOutput(audio, context=self.context).data if audio is not None else None


class ServiceCategoryListOutput(ServiceCategoryOutput, AudioHelpMixin):
    """A category of the catalog, with its recorded explanation."""


class ServiceRefOutput(serializers.Serializer):
    code = serializers.SlugField()
    name = case_shapes.TranslatedField()


class RequiredDocumentOutput(serializers.Serializer):
    name = serializers.SerializerMethodField()
    required = serializers.BooleanField(default=True)  # type: ignore[assignment]
    kinds = serializers.ListField(child=serializers.CharField(), default=list)

    def get_name(self, obj: dict[str, Any]) -> str:
        return translate(obj.get("name"), self.context.get("language", "vi"))


class PublicServiceOutput(serializers.Serializer):
    code = serializers.SlugField()
    name = case_shapes.TranslatedField()
    category = ServiceCategoryOutput()
    level = serializers.CharField()
    processing_days = serializers.IntegerField()
    fee = serializers.IntegerField(help_text="VND")
    online_level = serializers.CharField()


class PublicServiceDetailOutput(PublicServiceOutput, AudioHelpMixin):
    national_code = serializers.CharField()
    description = case_shapes.TranslatedField()
    required_documents = RequiredDocumentOutput(many=True)
    form_schema = serializers.JSONField(help_text="JSON Schema of `form_data`.")


class ServiceRequestInput(serializers.Serializer):
    id = serializers.UUIDField(required=False, help_text="Client-chosen id (offline phones).")
    service = serializers.RegexField(r"^[a-z0-9-]+$", max_length=80)
    administrative_unit = serializers.IntegerField(min_value=1, help_text="Commune code.")
    form_data = serializers.DictField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    applicant_phone = serializers.CharField(
        required=False,
        max_length=32,
        help_text="Assisted submission (staff only): the citizen's phone number.",
    )
    applicant_name = serializers.CharField(
        required=False, max_length=150, help_text="Assisted submission: the citizen's name."
    )
    applicant_consent = serializers.BooleanField(
        required=False,
        help_text="Assisted submission: the citizen agreed to have it filed; must be true.",
    )

    def validate_applicant_name(self, value: str) -> str:
        # Bidi controls would make the name display otherwise than it reads.
        return strip_bidi_controls(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        assisted = {"applicant_phone", "applicant_name", "applicant_consent"} & set(attrs)
        if assisted:
            errors: dict[str, list[ErrorDetail]] = {}
            for name in ("applicant_phone", "applicant_name"):
                if not str(attrs.get(name, "")).strip():
                    errors[name] = [ErrorDetail(_("This field is required."), code="required")]
            if attrs.get("applicant_consent") is not True:
                errors["applicant_consent"] = [
                    ErrorDetail(
                        _("The applicant's consent is required to file for them."),
                        code="consent_required",
                    )
                ]
            if errors:
                raise serializers.ValidationError(errors)
        attrs["assisted"] = bool(assisted)
        return attrs


class ServiceRequestEventOutput(case_shapes.CaseEventOutput):
    pass


(
    ServiceRequestAttachmentInput,
    ServiceRequestAttachmentUploadInput,
    ServiceRequestAttachmentOutput,
) = case_shapes.attachment_shapes(
    "ServiceRequest",
    ServiceRequestAttachment.Kind.choices,
    file_help=(
        "JPEG, PNG or WebP image, PDF, or AAC/M4A, OGG/Opus, MP3 or AMR audio (at most "
        "300 s), up to 10 MB (default caps). The type is read from the content, never the "
        "name. Images are stored re-encoded as JPEG without metadata."
    ),
    kind_help=(
        "document (image or PDF), photo (image), audio: by the applicant while the "
        "dossier is open; result (image or PDF): by staff while in progress or ready."
    ),
)


class SupplementAnswerOutput(serializers.Serializer):
    note = serializers.CharField()
    attachment_ids = serializers.ListField(child=serializers.UUIDField())
    answered_at = serializers.DateTimeField()


class SupplementItemOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=SupplementItemKind.choices)
    label = serializers.CharField()  # type: ignore[assignment]
    field = serializers.CharField(help_text="Dotted path in `form_data` (kind `field`).")
    answer = SupplementAnswerOutput(allow_null=True)


class ServiceRequestOutput(serializers.Serializer):
    id = serializers.UUIDField()
    tracking_code = serializers.CharField()
    status = serializers.ChoiceField(choices=ServiceRequest.Status.choices)
    service = ServiceRefOutput()
    agency = case_shapes.AgencyRefOutput()
    administrative_unit = case_shapes.UnitRefOutput()
    due_at = serializers.DateTimeField(allow_null=True)
    is_overdue = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AssigneeOutput(serializers.Serializer):
    id = serializers.UUIDField()
    full_name = serializers.CharField()


class ServiceRequestDetailOutput(ServiceRequestOutput, case_shapes.CaseDetailMixin):
    event_output = ServiceRequestEventOutput

    form_data = serializers.JSONField()
    note = serializers.CharField()
    assignee = AssigneeOutput(allow_null=True, help_text="The staff member handling it.")
    allowed_actions = serializers.SerializerMethodField()
    supplement_items = SupplementItemOutput(
        many=True,
        help_text="The latest supplement request's items, with the applicant's answers.",
    )
    events = serializers.SerializerMethodField()
    attachments = ServiceRequestAttachmentOutput(many=True)


class SupplementItemInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SupplementItemKind.choices)
    label = serializers.CharField(max_length=300)  # type: ignore[assignment]
    field = serializers.RegexField(
        r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$",
        max_length=200,
        required=False,
        help_text="Dotted path of a property of the service's form (kind `field`).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == "field" and not attrs.get("field"):
            raise serializers.ValidationError(
                {"field": [ErrorDetail(_("This field is required."), code="required")]}
            )
        return attrs


class SupplementResponseInput(serializers.Serializer):
    item_id = serializers.UUIDField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    attachment_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list, max_length=20
    )


class ServiceRequestTransitionInput(case_shapes.ActionInput):
    required_by_action = DOSSIERS.required_by_action()
    accepted_by_action = DOSSIERS.accepted_by_action()
    ACTIONS = tuple(DOSSIERS.actions)

    action = serializers.ChoiceField(choices=ACTIONS)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    reason = serializers.CharField(required=False, max_length=2000)
    result = serializers.CharField(required=False, max_length=2000)
    internal = serializers.BooleanField(required=False, default=False)
    items = serializers.ListField(
        child=SupplementItemInput(),
        required=False,
        min_length=1,
        max_length=20,
        help_text="request_supplement: 1 to 20 items.",
    )
    responses = SupplementResponseInput(many=True, required=False, help_text="supplement")
    form_data = serializers.DictField(required=False, help_text="supplement: corrected form.")
    assignee = serializers.UUIDField(required=False, help_text="assign: a staff member's id.")
    agency = serializers.UUIDField(required=False, help_text="forward: the new agency's id.")


class ServiceRequestRatingInput(case_shapes.RatingInput):
    pass


class ServiceRequestRatingOutput(case_shapes.RatingOutput):
    pass


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
