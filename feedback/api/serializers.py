"""Input and output shapes of feedback: no queries, no permissions."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from casework.api import serializers as case_shapes
from common.text import strip_bidi_controls
from feedback.actions import FEEDBACK
from feedback.models import Feedback, FeedbackAttachment, FeedbackCategory


class FeedbackCategoryOutput(serializers.Serializer):
    code = serializers.SlugField()
    name = case_shapes.TranslatedField()
    default_level = serializers.ChoiceField(choices=FeedbackCategory.Level.choices)


class FeedbackAgencyRefOutput(case_shapes.AgencyRefOutput):
    pass


class FeedbackUnitRefOutput(case_shapes.UnitRefOutput):
    pass


class FeedbackCategoryRefOutput(serializers.Serializer):
    code = serializers.SlugField()
    name = case_shapes.TranslatedField()


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

    def validate_title(self, value: str) -> str:
        # Bidi controls would make the title display otherwise than it reads.
        return strip_bidi_controls(value)


class FeedbackEventOutput(case_shapes.CaseEventOutput):
    pass


(
    FeedbackAttachmentInput,
    FeedbackAttachmentUploadInput,
    FeedbackAttachmentOutput,
) = case_shapes.attachment_shapes(
    "Feedback",
    FeedbackAttachment.Kind.choices,
    file_help=(
        "photo: JPEG, PNG or WebP (re-encoded, metadata stripped); audio: AAC/M4A, "
        "OGG/Opus, MP3 or AMR, at most 300 s. Type read from the content."
    ),
    kind_help="At most 5 photos and 1 voice note.",
)


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


class FeedbackDetailOutput(FeedbackOutput, case_shapes.CaseDetailMixin):
    event_output = FeedbackEventOutput

    allowed_actions = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()
    attachments = FeedbackAttachmentOutput(many=True)


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


class FeedbackTransitionInput(case_shapes.ActionInput):
    required_by_action = FEEDBACK.required_by_action()
    accepted_by_action = FEEDBACK.accepted_by_action()
    ACTIONS = tuple(FEEDBACK.actions)

    action = serializers.ChoiceField(choices=ACTIONS)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    reason = serializers.CharField(required=False, max_length=2000)
    answer = serializers.CharField(required=False, max_length=5000)
    internal = serializers.BooleanField(required=False, default=False)
    agency = serializers.UUIDField(required=False, help_text="forward: the new agency's id.")
    duplicate_of = serializers.UUIDField(
        required=False, help_text="mark_duplicate: the original feedback's id."
    )


class FeedbackRatingInput(case_shapes.RatingInput):
    pass


class FeedbackRatingOutput(case_shapes.RatingOutput):
    pass


class FeedbackSupportOutput(serializers.Serializer):
    support_count = serializers.IntegerField()
