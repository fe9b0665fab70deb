"""Re-encrypt every encrypted field with the first of FIELD_ENCRYPTION_KEYS.

The rotation (docs/privacy.md): put the new key first in FIELD_ENCRYPTION_KEYS, keep the old
ones after it, deploy, run this command, then drop the old keys. Values are read in batches
under a row lock, so an edit made meanwhile is never overwritten with an older value.
"""

from typing import Any

from django.apps import apps
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import F, TextField, Value
from django.db.models.functions import Cast

from common.crypto import EncryptedTextField, UndecryptableValue, rotate
from common.progress import ProgressCommand

BATCH = 500


class Command(ProgressCommand):
    help = "Re-encrypt every encrypted field with the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if isinstance(field, EncryptedTextField):
                    count = self._rotate(model, field.name)
                    total += count
                    self.stdout.write(f"{model._meta.label}.{field.name}: {count} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} value(s) re-encrypted with the first key"))

    def _rotate(self, model: Any, name: str) -> int:
        total = model._base_manager.exclude(**{name: ""}).count()
        with self.counter(total=total, desc=f"{model._meta.label}.{name}") as bar:
            return self._rotate_batches(model, name, bar)

    def _rotate_batches(self, model: Any, name: str, bar: Any) -> int:
        done = 0
        last = None
        while True:
            with transaction.atomic():
                # The raw token, not the value the field would decrypt.
                rows = (
                    model._base_manager.select_for_update()
                    .exclude(**{name: ""})
                    .annotate(_raw=Cast(F(name), output_field=TextField()))
                    .order_by("pk")
                )
                if last is not None:
                    rows = rows.filter(pk__gt=last)
                batch = list(rows.values_list("pk", "_raw")[:BATCH])
                if not batch:
                    return done
                for pk, token in batch:
                    try:
                        fresh = rotate(token)
                    except UndecryptableValue:
                        raise CommandError(
                            f"{model._meta.label} {pk}: no key in FIELD_ENCRYPTION_KEYS opens "
                            f"{name}; put the key it was written with back in the list"
                        ) from None
                    # A plain text expression: written as it is, not encrypted once more.
                    model._base_manager.filter(pk=pk).update(
                        **{name: Value(fresh, output_field=TextField())}
                    )
                done += len(batch)
                bar.update(len(batch))
                last = batch[-1][0]
