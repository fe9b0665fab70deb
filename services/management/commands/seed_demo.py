from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from services.demo import seed_demo


class Command(BaseCommand):
    help = "Load demo agencies, demo-only accounts and a demo catalog (dev and test only)."

    def handle(self, *args: object, **options: object) -> None:
        if settings.DJANGO_ENV not in ("dev", "test"):
            raise CommandError("seed_demo runs only with DJANGO_ENV=dev or test.")
        counts = seed_demo()
        self.stdout.write(self.style.SUCCESS(f"demo data ready: {counts}"))
