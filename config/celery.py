import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect(weak=False)
def _worker_metrics(**_kwargs: object) -> None:
    """A worker serves its Prometheus counters (pushes, SMS, housekeeping) on its own port."""
    from django.conf import settings

    from common.metrics import serve_worker_metrics

    if settings.METRICS_WORKER_PORT:
        serve_worker_metrics(settings.METRICS_WORKER_PORT)


def _carry_request_ids() -> None:
    from common.request_id import connect_celery_signals

    connect_celery_signals()


_carry_request_ids()
