from celery import shared_task

from services import actions


@shared_task(name="services.tasks.notify_due_dossiers")
def notify_due_dossiers() -> int:
    # Beat runs it every morning; a missed day only delays the reminders by one.
    return actions.notify_due_dossiers()
