from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhook"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from notifications.messages import register_kinds
        from notifications.metrics import add_outbox_channel
        from webhooks.delivery import DISABLED_FACTS, DISABLED_KIND
        from webhooks.models import WebhookDelivery, WebhookSubscription
        from webhooks.routing import subscriptions_changed

        # The notice an agency admin gets when a subscription is switched off.
        register_kinds({DISABLED_KIND: DISABLED_FACTS})
        # `outbox_pending{channel="webhook"}` and the age of the oldest waiting delivery.
        add_outbox_channel("webhook", WebhookDelivery)

        # Each process keeps which subscriptions take an event (webhooks.routing).
        def changed(**kwargs: object) -> None:
            subscriptions_changed()

        for signal in (post_save, post_delete):
            signal.connect(
                changed, sender=WebhookSubscription, weak=False, dispatch_uid="webhooks-cache"
            )
