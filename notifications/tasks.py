"""Celery entry points; the work is in `notifications.delivery`, `.announcements`, `.actions`."""

from celery import shared_task

from notifications import actions, announcements, delivery

# Batches (of 500) a delivery task drains after its own rows; keeps each task short.
DRAIN_MAX_BATCHES = 4


# acks_late: a worker killed mid-send leaves the message on the broker for another worker;
# the rows' lease stops the two from sending the same push twice in the meantime.
@shared_task(acks_late=True, ignore_result=True)
def deliver_pushes(ids: list[str]) -> int:
    """Send the given outbox rows now (those still due), then whatever else is due.

    Under load every commit queues one of these tasks for a row or two: draining what else
    is due sends hundreds per FCM call, and the tasks queued behind find their rows done
    (one empty claim each). Returns how many were sent.
    """
    sent = delivery.deliver_ids(list(ids)).sent
    return sent + delivery.sweep(max_batches=DRAIN_MAX_BATCHES).sent


@shared_task(acks_late=True, ignore_result=True)
def deliver_sms(ids: list[str]) -> int:
    """Send the given SMS fallback rows now (those still due); returns how many were sent."""
    return delivery.deliver_sms(list(ids))


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


@shared_task(acks_late=True, ignore_result=True)
def fan_out_announcement(announcement_id: str) -> None:
    """One batch of an announcement's fan-out, then queue the next one (short tasks)."""
    if announcements.fan_out_batch(announcement_id):
        announcements.publish_fan_out(announcement_id)


@shared_task(ignore_result=True)
def prune_stale_devices() -> int:
    """Beat, daily: delete devices unseen for 60 days."""
    return actions.prune_stale_devices()
