"""Each kind of background work has its own Celery queue, so a flood of one never delays
another: pushes, SMS, announcement fan-out and housekeeping (settings.CELERY_TASK_ROUTES)."""

import pytest
import redis as redis_client
from django.conf import settings as django_settings

from config.celery import app
from tests.live import RedisServer, publishing_to

EXPECTED = {
    "notifications.tasks.deliver_pushes": "pushes",
    "notifications.tasks.sweep_outbox": "pushes",
    "notifications.tasks.deliver_sms": "sms",
    "notifications.tasks.fan_out_announcement": "fanout",
    "notifications.tasks.prune_stale_devices": "housekeeping",
    "notifications.tasks.purge_finished_outbox": "housekeeping",
    "common.tasks.prune_sync_removals": "housekeeping",
    "common.tasks.purge_idempotency_records": "housekeeping",
    "common.tasks.purge_expired_uploads": "housekeeping",
    "accounts.tasks.flush_expired_tokens": "housekeeping",
    "accounts.tasks.purge_one_time_codes": "housekeeping",
    "services.tasks.notify_due_dossiers": "housekeeping",
    "feedback.tasks.close_answered": "housekeeping",
}


@pytest.fixture(autouse=True, scope="module")
def _every_task_registered():
    # What a worker does at start: import each app's tasks module.
    app.loader.import_default_modules()


def queue_of(task_name):
    return app.amqp.router.route({}, task_name)["queue"].name


@pytest.mark.parametrize(("task", "queue"), sorted(EXPECTED.items()))
def test_each_task_goes_to_its_queue(task, queue):
    assert task in app.tasks
    assert queue_of(task) == queue


def test_no_project_task_and_no_beat_job_is_left_on_the_default_queue():
    project = [name for name in app.tasks if not name.startswith("celery.")]
    assert project
    assert {name: queue_of(name) for name in project if queue_of(name) == "celery"} == {}
    for job in django_settings.CELERY_BEAT_SCHEDULE.values():
        assert queue_of(job["task"]) in {"pushes", "housekeeping"}, job


@pytest.mark.redis
def test_published_tasks_wait_in_their_own_queues(settings, tmp_path):
    from common.tasks import purge_idempotency_records
    from notifications.announcements import fan_out_announcement
    from notifications.delivery import deliver_pushes_task, deliver_sms_task

    server = RedisServer(tmp_path)
    server.start()
    try:
        with publishing_to(server.url, settings):
            deliver_pushes_task.delay(["p-1"])
            deliver_pushes_task.delay(["p-2"])
            deliver_sms_task.delay(["s-1"])
            fan_out_announcement.delay("a-1")
            purge_idempotency_records.delay()
        lengths = {
            queue.name: redis_client.Redis.from_url(server.url).llen(queue.name)
            for queue in settings.CELERY_TASK_QUEUES
        }
    finally:
        server.stop()

    assert lengths == {"pushes": 2, "sms": 1, "fanout": 1, "housekeeping": 1, "celery": 0}
