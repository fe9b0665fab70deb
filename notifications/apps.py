from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Thông báo"

    def ready(self) -> None:
        from common.i18n import register_translation_source
        from notifications.messages import translation_tally

        # Notification templates count towards each language's completeness.
        register_translation_source("notifications", translation_tally)

        from common.i18n.translations import register
        from notifications.translations import NotificationTexts

        # Notification and SMS texts in the admin's translator view.
        register(NotificationTexts())

        from common.metrics import register_collector
        from notifications.metrics import outbox_backlog

        # The outbox's backlog on every scrape of /metrics.
        register_collector("outbox", outbox_backlog)
