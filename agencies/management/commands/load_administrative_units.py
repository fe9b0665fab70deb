from django.core.management.base import BaseCommand

from agencies.actions import load_administrative_units


class Command(BaseCommand):
    help = (
        "Load or refresh the 34 provinces and 3,321 communes from the vietnam-provinces "
        "package. Safe to run again: unchanged units are left alone."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        counts = load_administrative_units()
        self.stdout.write(
            self.style.SUCCESS(
                "Administrative units: {created} created, {updated} updated, "
                "{unchanged} unchanged.".format(**counts)
            )
        )
