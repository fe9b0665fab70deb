from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from feedback.demo import seed_feedback_demo


class Command(BaseCommand):
    help = "Load demo feedback categories (dev and test only)."

    def handle(self, *args: object, **options: object) -> None:
        if settings.DJANGO_ENV not in ("dev", "test"):
            raise CommandError("seed_feedback_demo runs only with DJANGO_ENV=dev or test.")
        count = seed_feedback_demo()
        self.stdout.write(self.style.SUCCESS(f"feedback categories ready: {count}"))
