"""Public reads go to the read replica; writes, signed-in reads, sync reads and reads after a
write in the same request go to the primary (common/db_routing.py).

The PostgreSQL tests make a real second database: a copy of the test database taken with
`CREATE DATABASE … TEMPLATE`, registered as the `replica` alias, after which the primary is
changed so the two hold different data and each answer shows where it was read.
"""

import copy
import runpy
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver

from common import db_routing
from common.db_routing import REPLICA_ALIAS, PrimaryReplicaRouter
from services.models import PublicService
from tests.conftest import client_for

ROUTER = "common.db_routing.PrimaryReplicaRouter"
SETTINGS_FILE = str(Path(__file__).resolve().parents[2] / "config" / "settings.py")

# Every public read of the contract: the catalog, the public feed, public statistics.
PUBLIC_READS = {
    "services",
    "service-detail",
    "service-categories",
    "feedback-categories",
    "administrative-unit-list",
    "agency-list",
    "agency-detail",
    "languages",
    "ethnic-groups",
    "feedback-public",
    "stats-agency",
}


def public_urls(world) -> list[str]:
    agency = world["lam_binh_office"].pk
    return [
        "/api/v1/services/",
        f"/api/v1/services/{world['service'].code}/",
        "/api/v1/service-categories/",
        "/api/v1/feedback-categories/",
        "/api/v1/administrative-units/?level=province",
        "/api/v1/agencies/",
        f"/api/v1/agencies/{agency}/",
        "/api/v1/languages/",
        "/api/v1/ethnic-groups/",
        "/api/v1/feedback/public/",
        f"/api/v1/stats/agencies/{agency}/",
    ]


def _views(patterns, names=None):
    names = {} if names is None else names
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _views(pattern.url_patterns, names)
        elif isinstance(pattern, URLPattern) and pattern.name:
            view = getattr(pattern.callback, "cls", None) or getattr(
                pattern.callback, "view_class", None
            )
            names[pattern.name] = view
    return names


def test_exactly_the_public_reads_are_marked_for_the_replica():
    marked = {
        name
        for name, view in _views(get_resolver().url_patterns).items()
        if getattr(view, "replica_reads", False)
    }
    assert marked == PUBLIC_READS


def test_a_view_marked_for_the_replica_only_reads():
    views = _views(get_resolver().url_patterns)
    for name in PUBLIC_READS:
        handlers = {m for m in ("post", "put", "patch", "delete") if hasattr(views[name], m)}
        assert handlers == set(), name


# -- settings ------------------------------------------------------------------------------


def test_without_a_replica_url_everything_stays_on_default(monkeypatch):
    monkeypatch.delenv("DATABASE_REPLICA_URL", raising=False)
    loaded = runpy.run_path(SETTINGS_FILE)
    assert set(loaded["DATABASES"]) == {"default"}
    assert "DATABASE_ROUTERS" not in loaded


def test_a_replica_url_adds_the_alias_and_the_router(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://app@primary:5432/dichvu")
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://app@standby:5432/dichvu")
    monkeypatch.setenv("CONN_MAX_AGE", "60")
    monkeypatch.setenv("DISABLE_SERVER_SIDE_CURSORS", "true")
    loaded = runpy.run_path(SETTINGS_FILE)
    replica = loaded["DATABASES"]["replica"]
    assert (replica["HOST"], replica["NAME"]) == ("standby", "dichvu")
    assert replica["CONN_MAX_AGE"] == 60
    assert replica["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert loaded["DATABASE_ROUTERS"] == [ROUTER]


# -- which requests may read the replica (any database) ------------------------------------


@pytest.fixture
def stand_in_replica(settings, monkeypatch):
    """The router installed, and a replica it believes is there and reachable."""
    settings.DATABASE_ROUTERS = [ROUTER]
    monkeypatch.setattr(db_routing, "replica_configured", lambda: True)
    monkeypatch.setattr(db_routing, "_replica_reachable", lambda: True)


@pytest.fixture
def routed(stand_in_replica, monkeypatch):
    """Records where each read of a request would go and still reads `default`, so this runs
    on any database. The tests commit (`transaction=True`): inside the transaction a test
    case opens on the primary, every read stays there."""
    asked = []
    decide = PrimaryReplicaRouter.db_for_read

    def recording(self, model, **hints):
        asked.append(decide(self, model, **hints))
        return DEFAULT_DB_ALIAS

    monkeypatch.setattr(PrimaryReplicaRouter, "db_for_read", recording)
    return asked


@pytest.mark.django_db(transaction=True)
def test_anonymous_public_reads_ask_for_the_replica(routed, world, api):
    for url in public_urls(world):
        routed.clear()
        response = api.get(url)
        assert response.status_code == 200, url
        assert routed, url
        assert set(routed) == {REPLICA_ALIAS}, url


@pytest.mark.django_db(transaction=True)
def test_signed_in_sync_and_private_reads_ask_for_the_primary(routed, world, citizen_a, api):
    citizen = client_for(citizen_a)
    for client, url in [
        (citizen, "/api/v1/services/"),
        (citizen, f"/api/v1/agencies/{world['lam_binh_office'].pk}/"),
        (api, "/api/v1/services/?updated_since=2026-01-01T00:00:00Z"),
        (api, "/api/v1/service-categories/?updated_since=2026-01-01T00:00:00Z"),
        (citizen, "/api/v1/requests/"),
        (citizen, "/api/v1/me/"),
    ]:
        routed.clear()
        assert client.get(url).status_code == 200, url
        assert routed, url
        assert set(routed) == {DEFAULT_DB_ALIAS}, url


def test_a_write_pins_the_rest_of_the_request_to_the_primary(stand_in_replica):
    router = PrimaryReplicaRouter()
    with db_routing.public_reads():
        assert router.db_for_read(PublicService) == REPLICA_ALIAS
        assert router.db_for_write(PublicService) == DEFAULT_DB_ALIAS
        assert router.db_for_read(PublicService) == DEFAULT_DB_ALIAS
    # Outside a request (tasks, commands): the primary.
    assert router.db_for_read(PublicService) == DEFAULT_DB_ALIAS


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_on_the_primary_stay_there(stand_in_replica):
    from django.db import transaction

    router = PrimaryReplicaRouter()
    with db_routing.public_reads():
        with transaction.atomic():
            assert router.db_for_read(PublicService) == DEFAULT_DB_ALIAS
        assert router.db_for_read(PublicService) == REPLICA_ALIAS


def test_a_replica_that_does_not_answer_leaves_public_reads_on_the_primary(
    stand_in_replica, monkeypatch
):
    tries = []
    monkeypatch.setattr(db_routing, "_replica_reachable", lambda: tries.append(1) or False)
    router = PrimaryReplicaRouter()
    with db_routing.public_reads():
        assert router.db_for_read(PublicService) == DEFAULT_DB_ALIAS
        assert router.db_for_read(PublicService) == DEFAULT_DB_ALIAS
    assert tries == [1]  # asked once per request, at its first read


def test_migrations_never_run_on_the_replica():
    router = PrimaryReplicaRouter()
    assert router.allow_migrate(REPLICA_ALIAS, "services") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "services") is True


def test_an_unreachable_replica_sends_public_reads_to_the_primary_for_a_while(monkeypatch):
    class Down:
        def ensure_connection(self):
            from django.db import OperationalError

            raise OperationalError("connection refused")

    monkeypatch.setattr(db_routing, "connections", {REPLICA_ALIAS: Down()})
    monkeypatch.setattr(db_routing, "_replica_down_until", 0.0)
    assert db_routing._replica_reachable() is False
    assert db_routing._replica_down_until > 0
    # Within the pause it does not even try.
    monkeypatch.setattr(db_routing, "connections", {})
    assert db_routing._replica_reachable() is False


# -- two real databases (PostgreSQL) -------------------------------------------------------


def _execute(sql: str) -> None:
    # On the server's maintenance database: a database cannot be copied from inside itself.
    with connections[DEFAULT_DB_ALIAS]._nodb_cursor() as cursor:
        cursor.execute(sql)


@pytest.fixture
def replica(world, settings):
    """A second database holding a copy of the primary as it is now, as alias `replica`,
    with the router installed. Yields nothing; the copy is dropped afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    primary = connection.settings_dict["NAME"]
    copy_name = f"{primary}_replica"
    quote = connection.ops.quote_name
    connection.close()
    _execute(f"DROP DATABASE IF EXISTS {quote(copy_name)} WITH (FORCE)")
    # A template must have no other sessions; any left are this test run's own.
    with connections[DEFAULT_DB_ALIAS]._nodb_cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [primary],
        )
    _execute(f"CREATE DATABASE {quote(copy_name)} TEMPLATE {quote(primary)}")
    replica_settings = copy.deepcopy(connection.settings_dict)
    replica_settings["NAME"] = copy_name
    connections.settings[REPLICA_ALIAS] = replica_settings
    # Connected here: the test case refuses new connections to aliases it was not told of
    # (it knew of no `replica` when it started), not ones already open.
    connections[REPLICA_ALIAS].connect()
    settings.DATABASE_ROUTERS = [ROUTER]
    try:
        yield
    finally:
        connections[REPLICA_ALIAS].close()
        del connections[REPLICA_ALIAS]
        del connections.settings[REPLICA_ALIAS]
        _execute(f"DROP DATABASE IF EXISTS {quote(copy_name)} WITH (FORCE)")


def _rename_on_primary(service, name: str) -> None:
    PublicService.objects.using(DEFAULT_DB_ALIAS).filter(pk=service.pk).update(
        name={"vi": name, "en": name}
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_public_read_is_answered_from_the_replica(replica, world, api):
    service = world["service"]
    _rename_on_primary(service, "Tên mới trên máy chính")
    detail = api.get(f"/api/v1/services/{service.code}/")
    assert detail.status_code == 200
    assert detail.json()["name"] == "Đăng ký khai sinh"  # the replica's copy
    listed = api.get("/api/v1/services/")
    assert [item["name"] for item in listed.json()["results"]] == ["Đăng ký khai sinh"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_every_public_read_queries_only_the_replica(replica, world, api):
    for url in public_urls(world):
        with (
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
            CaptureQueriesContext(connections[REPLICA_ALIAS]) as on_replica,
        ):
            response = api.get(url)
        assert response.status_code == 200, url
        assert len(on_replica) > 0, url
        assert [q["sql"] for q in on_primary] == [], url


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sync_and_signed_in_reads_are_answered_from_the_primary(replica, world, citizen_a, api):
    service = world["service"]
    _rename_on_primary(service, "Tên mới trên máy chính")
    synced = api.get("/api/v1/services/?updated_since=2000-01-01T00:00:00Z")
    assert synced.status_code == 200
    assert [item["name"] for item in synced.json()["results"]] == ["Tên mới trên máy chính"]
    signed_in = client_for(citizen_a).get(f"/api/v1/services/{service.code}/")
    assert signed_in.json()["name"] == "Tên mới trên máy chính"
    with CaptureQueriesContext(connections[REPLICA_ALIAS]) as on_replica:
        client_for(citizen_a).get("/api/v1/requests/")
    assert len(on_replica) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_read_after_a_write_in_the_same_request_comes_from_the_primary(replica, world):
    service = world["service"]
    with db_routing.public_reads():
        assert PublicService.objects.get(pk=service.pk).name["vi"] == "Đăng ký khai sinh"
        PublicService.objects.filter(pk=service.pk).update(name={"vi": "Vừa sửa", "en": "x"})
        # Read back at once: the replica has not seen the write; the primary has.
        assert PublicService.objects.get(pk=service.pk).name["vi"] == "Vừa sửa"
    assert PublicService.objects.using(REPLICA_ALIAS).get(pk=service.pk).name["vi"] == (
        "Đăng ký khai sinh"
    )
