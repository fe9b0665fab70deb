"""Celery entry points of webhooks (defined beside their work in `webhooks.delivery`)."""

from webhooks.delivery import deliver_webhooks_task as deliver_webhooks
from webhooks.delivery import sweep_webhooks_task as sweep_webhooks

__all__ = ["deliver_webhooks", "sweep_webhooks"]
