from rest_framework import serializers

from agencies.models import Agency
from webhooks.models import EVENT_TYPES, WebhookSubscription


class WebhookAgencySerializer(serializers.ModelSerializer):
    class Meta:
        model = Agency
        fields = ("id", "code", "name")


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    agency = WebhookAgencySerializer(read_only=True)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        help_text="Event types sent to this URL; empty means all of them.",
    )
    is_active = serializers.BooleanField(
        read_only=True,
        help_text="False once deliveries failed for 24 hours; an admin switches it back on.",
    )

    class Meta:
        model = WebhookSubscription
        fields: tuple[str, ...] = ("id", "url", "events", "agency", "is_active", "created_at")


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="`whsec_<base64>`: the key of the signatures; shown only in this answer.",
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = (*WebhookSubscriptionSerializer.Meta.fields, "secret")


class WebhookSecretRotatedSerializer(WebhookSubscriptionCreatedSerializer):
    previous_secret_until = serializers.DateTimeField(
        read_only=True,
        help_text="Until then deliveries carry a signature with the previous secret beside "
        "the new one, while the receiver switches.",
    )

    class Meta(WebhookSubscriptionCreatedSerializer.Meta):
        fields = (*WebhookSubscriptionCreatedSerializer.Meta.fields, "previous_secret_until")


class WebhookSubscriptionCreateSerializer(serializers.Serializer):
    url = serializers.URLField(
        max_length=500,
        help_text="Where events are POSTed. In production https only, to a public address.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        required=False,
        default=list,
        max_length=len(EVENT_TYPES),
        help_text="Event types wanted; empty or absent means all of them.",
    )
    agency = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="The agency whose subtree's cases are reported; default: the caller's "
        "highest administered agency.",
    )
