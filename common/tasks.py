"""Celery entry points of `common`; the work is in the modules they call. Each purge counts
its run and what it removed (`housekeeping_runs_total`, `housekeeping_deleted_total`)."""

from celery import shared_task

from common.api import idempotency, sync
from common.files import uploads
from common.metrics import housekeeping_done


@shared_task(name="common.tasks.purge_idempotency_records", ignore_result=True)
def purge_idempotency_records() -> int:
    """Beat: delete Idempotency-Key records past their 24 hours; returns how many."""
    return housekeeping_done("idempotency_records", idempotency.purge_expired())


@shared_task(name="common.tasks.purge_expired_uploads", ignore_result=True)
def purge_expired_uploads() -> int:
    """Beat: delete resumable uploads past their expiry, with their bytes; returns how many."""
    return housekeeping_done("uploads", uploads.purge_expired())


@shared_task(name="common.tasks.prune_sync_removals", ignore_result=True)
def prune_sync_removals() -> int:
    """Beat, daily: forget removals older than SYNC_REMOVAL_HORIZON_DAYS; returns how many."""
    return housekeeping_done("sync_removals", sync.prune_removals())
