"""Input and output shapes of feedback: no queries, no permissions."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.api import ActionInput, RatingInput, RatingOutput
from common.files import signed_url
from common.i18n import translate
from common.uploads import upload_id_field
from feedback.models import Feedback, FeedbackAttachment, FeedbackCategory


class FeedbackTranslatedField(serializers.Field):
    """Reads a `{lang: text}` JSON field in the negotiated language, falling back to `vi`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return translate(value, self.context.get("language", "vi"))


extend_schema_field(OpenApiTypes.STR)(FeedbackTranslatedField)


class FeedbackCategoryOutput(serializers.Serializer):
    code = serializers.SlugField()
    name = FeedbackTranslatedField()
    default_level = serializers.ChoiceField(choices=FeedbackCategory.Level.choices)


class FeedbackAgencyRefOutput(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.SlugField()
    name = serializers.CharField()


class FeedbackUnitRefOutput(serializers.Serializer):
    code = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.CharField()


class FeedbackCategoryRefOutput(serializers.Serializer):
    code = serializers.SlugField()
    name = FeedbackTranslatedField()


class FeedbackAuthorOutput(serializers.Serializer):
    id = serializers.UUIDField()
    full_name = serializers.CharField()


class FeedbackInput(serializers.Serializer):
    id = serializers.UUIDField(required=False, help_text="Client-chosen id (offline phones).")
    category = serializers.RegexField(r"^[a-z0-9-]+$", max_length=64)
    administrative_unit = serializers.IntegerField(min_value=1, help_text="Commune code.")
    village = serializers.CharField(
        required=False, allow_blank=True, max_length=120, default="", help_text="Thôn/bản."
    )
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True, default=None
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, required=False, allow_null=True, default=None
    )
    is_anonymous = serializers.BooleanField(required=False, default=False)
    is_public = serializers.BooleanField(required=False, default=False)
    title = serializers.CharField(max_length=200)
    content = serializers.CharField(max_length=5000)
    client_created_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="When the phone wrote it."
    )


class FeedbackEventOutput(serializers.Serializer):
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField()
    internal = serializers.BooleanField()
    at = serializers.DateTimeField(source="created_at")


class FeedbackAttachmentInput(serializers.Serializer):
    file = serializers.FileField(
        help_text=(
            "photo: JPEG, PNG or WebP (re-encoded, metadata stripped); audio: AAC/M4A, "
            "OGG/Opus, MP3 or AMR, at most 300 s. Type read from the content."
        )
    )
    kind = serializers.ChoiceField(
        choices=FeedbackAttachment.Kind.choices, help_text="At most 5 photos and 1 voice note."
    )


class FeedbackAttachmentUploadInput(serializers.Serializer):
    upload_id = upload_id_field()
    kind = serializers.ChoiceField(
        choices=FeedbackAttachment.Kind.choices, help_text="At most 5 photos and 1 voice note."
    )


class FeedbackAttachmentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=FeedbackAttachment.Kind.choices)
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="Signed download link, short-lived.")
    preview_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: FeedbackAttachment) -> str:
        return signed_url(self.context.get("request"), obj) or ""

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_preview_url(self, obj: FeedbackAttachment) -> str | None:
        return signed_url(self.context.get("request"), obj, "preview")


class FeedbackOutput(serializers.Serializer):
    id = serializers.UUIDField()
    tracking_code = serializers.CharField()
    status = serializers.ChoiceField(choices=Feedback.Status.choices)
    category = FeedbackCategoryRefOutput()
    administrative_unit = FeedbackUnitRefOutput()
    village = serializers.CharField()
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    agency = FeedbackAgencyRefOutput()
    author = serializers.SerializerMethodField(
        help_text="Null when the author chose anonymity (except for the author)."
    )
    is_anonymous = serializers.BooleanField()
    is_public = serializers.BooleanField()
    title = serializers.CharField()
    content = serializers.CharField()
    answer = serializers.CharField()
    support_count = serializers.IntegerField()
    duplicate_of = serializers.UUIDField(source="duplicate_of_id", allow_null=True)
    reopened = serializers.BooleanField()
    answered_at = serializers.DateTimeField(allow_null=True)
    client_created_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(FeedbackAuthorOutput(allow_null=True))
    def get_author(self, obj: Feedback) -> dict[str, Any] | None:
        request = self.context.get("request")
        viewer = getattr(getattr(request, "user", None), "pk", None)
        if obj.is_anonymous and obj.author_id != viewer:
            return None
        return {"id": obj.author.pk, "full_name": obj.author.full_name}


class FeedbackDetailOutput(FeedbackOutput):
    allowed_actions = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()
    attachments = FeedbackAttachmentOutput(many=True)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, obj: Feedback) -> list[str]:
        return self.context["allowed_actions"]

    @extend_schema_field(FeedbackEventOutput(many=True))
    def get_events(self, obj: Feedback) -> list[dict[str, Any]]:
        show_internal = self.context.get("show_internal", False)
        events = [e for e in obj.events.all() if show_internal or not e.internal]
        return list(FeedbackEventOutput(events, many=True).data)


class PublicFeedbackOutput(serializers.Serializer):
    """An item of the public feed: no identity, the commune instead of coordinates."""

    id = serializers.UUIDField()
    tracking_code = serializers.CharField()
    status = serializers.ChoiceField(choices=Feedback.Status.choices)
    category = FeedbackCategoryRefOutput()
    administrative_unit = FeedbackUnitRefOutput()
    agency = FeedbackAgencyRefOutput()
    title = serializers.CharField()
    content = serializers.CharField()
    answer = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)
    support_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


# What each action needs beyond `action`.
REQUIRED_BY_ACTION = {
    "reject": ("reason",),
    "mark_duplicate": ("duplicate_of",),
    "answer": ("answer",),
    "reopen": ("reason",),
    "forward": ("agency", "reason"),
    "comment": ("note",),
}


class FeedbackTransitionInput(ActionInput):
    required_by_action = REQUIRED_BY_ACTION
    ACTIONS = (
        "accept",
        "reject",
        "mark_duplicate",
        "answer",
        "close",
        "reopen",
        "withdraw",
        "forward",
        "comment",
    )

    action = serializers.ChoiceField(choices=ACTIONS)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    reason = serializers.CharField(required=False, max_length=2000)
    answer = serializers.CharField(required=False, max_length=5000)
    internal = serializers.BooleanField(required=False, default=False)
    agency = serializers.UUIDField(required=False, help_text="forward: the new agency's id.")
    duplicate_of = serializers.UUIDField(
        required=False, help_text="mark_duplicate: the original feedback's id."
    )


class FeedbackRatingInput(RatingInput):
    pass


class FeedbackRatingOutput(RatingOutput):
    pass


class FeedbackSupportOutput(serializers.Serializer):
    support_count = serializers.IntegerField()
