from celery import shared_task

from feedback import actions


@shared_task(name="feedback.tasks.close_answered")
def close_answered() -> int:
    # Beat runs it daily; an item closes at most a day late.
    return actions.close_answered()
