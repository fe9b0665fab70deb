from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Chung"

    def ready(self) -> None:
        from common import metrics

        metrics.register_collector("celery_queues", metrics.celery_queue_lengths)
