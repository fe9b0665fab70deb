"""Claims under real row locks (PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction

from notifications import delivery
from notifications.models import PushMessage

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def rows(citizen_a, make_device):
    device = make_device(citizen_a)
    PushMessage.objects.bulk_create(
        PushMessage(device=device, token=device.token, title=f"T{i}", body="B") for i in range(12)
    )
    return list(PushMessage.objects.order_by("created_at").values_list("id", flat=True))


def _in_thread(function):
    def run(*args):
        try:
            return function(*args)
        finally:
            connections.close_all()

    return run


def test_a_claim_skips_rows_another_worker_holds(rows):
    held = rows[:5]
    locked = threading.Event()
    release = threading.Event()

    @_in_thread
    def other_worker():
        with transaction.atomic():
            list(PushMessage.objects.select_for_update().filter(id__in=held))
            locked.set()
            release.wait(10)

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(other_worker)
        assert locked.wait(10)
        try:
            claimed = _in_thread(delivery.claim)()
        finally:
            release.set()
        future.result()

    assert {row.id for row in claimed} == set(rows[5:])


def test_concurrent_claims_never_share_a_row(rows):
    barrier = threading.Barrier(4)

    @_in_thread
    def claimer():
        barrier.wait(10)
        return [row.id for row in delivery.claim(limit=4)]

    with ThreadPoolExecutor(4) as pool:
        batches = list(pool.map(lambda _: claimer(), range(4)))

    claimed = [pk for batch in batches for pk in batch]
    assert len(claimed) == len(set(claimed))
    assert set(claimed) <= set(rows)
    assert PushMessage.objects.filter(status=PushMessage.Status.SENDING).count() == len(claimed)
