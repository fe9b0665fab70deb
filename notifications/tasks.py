"""Celery entry points: the periodic work, and the tasks other modules define beside their
work (re-exported here, the module Celery's autodiscovery imports)."""

from celery import shared_task

from common.metrics import housekeeping_done
from notifications import actions, announcements, delivery
from notifications.announcements import fan_out_announcement
from notifications.delivery import deliver_pushes_task as deliver_pushes
from notifications.delivery import deliver_sms_task as deliver_sms

__all__ = [
    "deliver_pushes",
    "deliver_sms",
    "fan_out_announcement",
    "prune_stale_devices",
    "purge_finished_outbox",
    "sweep_outbox",
]


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Beat: send what is due, retries and expired leases included; returns how many sent.

    Also sends SMS rows still pending and restarts announcement fan-outs that stopped.
    """
    sent = delivery.sweep().sent
    sent += delivery.deliver_sms()
    for announcement_id in announcements.stale_fan_outs():
        announcements.publish_fan_out(announcement_id)
    return sent


@shared_task(ignore_result=True)
def prune_stale_devices() -> int:
    """Beat, daily: delete devices unseen for 60 days."""
    return housekeeping_done("stale_devices", actions.prune_stale_devices())


@shared_task(ignore_result=True)
def purge_finished_outbox() -> int:
    """Beat, daily: delete pushes and SMS finished more than OUTBOX_RETENTION_DAYS ago."""
    purged = actions.purge_finished_outbox()
    housekeeping_done("outbox_pushes", purged["pushes"])
    housekeeping_done("outbox_sms", purged["sms"])
    return purged["pushes"] + purged["sms"]
