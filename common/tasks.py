"""Celery entry points of `common`; the work is in the modules they call."""

from celery import shared_task

from common.api import idempotency
from common.files import uploads


@shared_task(name="common.tasks.purge_idempotency_records", ignore_result=True)
def purge_idempotency_records() -> int:
    """Beat: delete Idempotency-Key records past their 24 hours; returns how many."""
    return idempotency.purge_expired()


@shared_task(name="common.tasks.purge_expired_uploads", ignore_result=True)
def purge_expired_uploads() -> int:
    """Beat: delete resumable uploads past their expiry, with their bytes; returns how many."""
    return uploads.purge_expired()
