"""Deleting many old rows without holding long locks: the purges of beat's housekeeping."""

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

BATCH_SIZE = 5000


def delete_in_batches(rows: QuerySet[Any], batch_size: int = BATCH_SIZE) -> int:
    """Delete `rows` a batch at a time, each batch its own short transaction; returns how
    many rows of `rows`' model went (cascades not counted).

    One `DELETE` of a month of delivered pushes would lock them all and write one huge
    transaction; batches by primary key keep each lock short and let the sender go on.
    """
    model = rows.model
    deleted = 0
    while True:
        ids = list(rows.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            _total, by_model = model._default_manager.filter(pk__in=ids).delete()
        deleted += by_model.get(model._meta.label, 0)
        if len(ids) < batch_size:
            return deleted
