from datetime import timedelta

from celery import shared_task
from django.core.management import call_command
from django.utils import timezone

from accounts.models import OneTimeCode
from common.metrics import housekeeping_done

# One-time codes are kept a day after they expire: long enough for the hourly limits and
# for support to see what was asked, no longer (a row says a phone asked for a code).
ONE_TIME_CODE_RETENTION = timedelta(days=1)


@shared_task(name="accounts.tasks.flush_expired_tokens")
def flush_expired_tokens() -> None:
    # Outstanding (and, by cascade, blacklisted) refresh tokens past their expiry are dead
    # weight: simplejwt refuses them on their `exp` alone.
    call_command("flushexpiredtokens")


@shared_task(name="accounts.tasks.purge_one_time_codes")
def purge_one_time_codes() -> int:
    """Beat, hourly: delete one-time codes expired more than a day ago; returns how many."""
    cutoff = timezone.now() - ONE_TIME_CODE_RETENTION
    deleted, _by_model = OneTimeCode.objects.filter(expires_at__lt=cutoff).delete()
    return housekeeping_done("one_time_codes", deleted)
