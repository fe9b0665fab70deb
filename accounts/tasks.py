from celery import shared_task
from django.core.management import call_command


@shared_task(name="accounts.tasks.flush_expired_tokens")
def flush_expired_tokens() -> None:
    # Outstanding (and, by cascade, blacklisted) refresh tokens past their expiry are dead
    # weight: simplejwt refuses them on their `exp` alone.
    call_command("flushexpiredtokens")
