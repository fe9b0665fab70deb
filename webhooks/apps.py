from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhook"

    def ready(self) -> None:
        from notifications.messages import register_kinds
        from webhooks.delivery import DISABLED_FACTS, DISABLED_KIND

        # The notice an agency admin gets when a subscription is switched off.
        register_kinds({DISABLED_KIND: DISABLED_FACTS})
