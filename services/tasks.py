from celery import shared_task

from services import actions, data_rights


@shared_task(name="services.tasks.notify_due_dossiers")
def notify_due_dossiers() -> int:
    # Beat runs it every morning; a missed day only delays the reminders by one.
    return actions.notify_due_dossiers()


@shared_task(name="services.tasks.pseudonymise_retained_dossiers")
def pseudonymise_retained_dossiers() -> int:
    # Beat runs it nightly; the retention period is counted in days, so a missed night
    # only delays it by one.
    return data_rights.pseudonymise_retained_dossiers()
