"""Publishing after commit: a dead broker costs one request its timeout, not every request."""

import pytest

from config.celery import app as celery_app
from notifications import outbox
from notifications.tasks import deliver_pushes


@pytest.fixture
def not_eager():
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = eager


def test_after_a_failed_publish_the_broker_is_skipped_for_a_while(not_eager, monkeypatch):
    calls = []

    def broker_down(*args, **kwargs):
        calls.append(args)
        raise OSError("connection refused")

    monkeypatch.setattr(deliver_pushes, "apply_async", broker_down)
    assert outbox.publish(deliver_pushes, [["a"]], "test") is False
    assert outbox.publish(deliver_pushes, [["b"]], "test") is False
    assert len(calls) == 1  # the second never waited on the broker

    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)
    assert outbox.publish(deliver_pushes, [["c"]], "test") is False
    assert len(calls) == 2  # tried again once the pause is over


def test_a_successful_publish_is_true(not_eager, monkeypatch):
    sent = []
    monkeypatch.setattr(deliver_pushes, "apply_async", lambda **kwargs: sent.append(kwargs))
    assert outbox.publish(deliver_pushes, [["a"]], "test") is True
    assert sent[0]["args"] == [["a"]]
    assert sent[0]["retry"] is False
