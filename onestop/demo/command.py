from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from common.progress import ProgressCommand


class SeedCommand(ProgressCommand):
    """A command that loads demo data, refused outside DJANGO_ENV dev and test."""

    # The function that loads the data (given a `progress` wrapper for its loops); what it
    # returns is reported.
    seed: Callable[..., Any]
    done = "demo data ready"

    def handle(self, *args: object, **options: object) -> None:
        name = self.__module__.rsplit(".", 1)[-1]
        if settings.DJANGO_ENV not in ("dev", "test"):
            raise CommandError(f"{name} runs only with DJANGO_ENV=dev or test.")
        result = type(self).seed(progress=self.progress_for_output())
        self.stdout.write(self.style.SUCCESS(f"{self.done}: {result}"))
