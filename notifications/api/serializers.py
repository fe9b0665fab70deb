from rest_framework import serializers

from agencies.api.serializers import AdministrativeUnitRef
from agencies.models import AdministrativeUnit
from common.api.mixins import LanguageCodeField
from notifications.models import Announcement, Device, Notification


class PushDeviceRegistrationSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=512, trim_whitespace=True)
    platform = serializers.ChoiceField(choices=Device.Platform.choices)
    app_version = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class PushDeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ("token", "platform", "app_version", "is_active", "last_seen_at", "created_at")
        read_only_fields = fields


class InboxNotificationSerializer(serializers.ModelSerializer):
    # Declared so the schema says "map of strings" (FCM data); the metaclass moves it into
    # the fields, so it does not shadow `Serializer.data` at run time.
    data = serializers.DictField(child=serializers.CharField(), read_only=True)  # type: ignore[assignment]

    class Meta:
        model = Notification
        fields = ("id", "kind", "title", "body", "data", "read_at", "created_at")
        read_only_fields = fields


class InboxUnreadCountSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0)


class AnnouncementCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=4000)
    administrative_unit = serializers.IntegerField(
        min_value=1, help_text="Code of the province or commune (see `level`)."
    )
    level = serializers.ChoiceField(
        choices=AdministrativeUnit.Level.choices,
        default=AdministrativeUnit.Level.COMMUNE,
        help_text="Province and commune codes overlap: which one `administrative_unit` names.",
    )
    language = LanguageCodeField(
        required=False, help_text="Language the text is written in; default `vi`."
    )


class AnnouncementSerializer(serializers.ModelSerializer):
    administrative_unit = AdministrativeUnitRef(read_only=True)

    class Meta:
        model = Announcement
        fields = ("id", "title", "body", "language", "administrative_unit", "created_at")
        read_only_fields = fields
