from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Chung"

    def ready(self) -> None:
        from common.api.strings import refuse_non_strings

        # JSON numbers and booleans are not strings, whatever DRF would make of them.
        refuse_non_strings()

        from common import metrics

        metrics.register_collector("celery_queues", metrics.celery_queue_lengths)
