from rest_framework import serializers

from notifications.models import Device, Notification


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
