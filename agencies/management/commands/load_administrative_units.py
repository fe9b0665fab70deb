from agencies.actions import load_administrative_units
from common.progress import ProgressCommand


class Command(ProgressCommand):
    help = (
        "Load or refresh the 34 provinces and 3,321 communes from the vietnam-provinces "
        "package. Safe to run again: unchanged units are left alone."
    )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        counts = load_administrative_units(progress=self.progress_for_output())
        self.stdout.write(
            self.style.SUCCESS(
                "Administrative units: {created} created, {updated} updated, "
                "{unchanged} unchanged.".format(**counts)
            )
        )
