"""Celery entry points; the work is in `notifications.delivery`."""

from celery import shared_task

from notifications import delivery


# acks_late: a worker killed mid-send leaves the message on the broker for another worker;
# the rows' lease stops the two from sending the same push twice in the meantime.
@shared_task(acks_late=True, ignore_result=True)
def deliver_pushes(ids: list[str]) -> int:
    """Send the given outbox rows now (those still due); returns how many were sent."""
    return delivery.deliver_ids(list(ids)).sent


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Beat: send what is due, retries and expired leases included; returns how many sent."""
    return delivery.sweep().sent
