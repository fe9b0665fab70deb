"""Cursor pagination: `?page_size=` bounds, forged cursors, and query counts of every list."""

from base64 import b64encode
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common import refcache
from notifications.models import Notification
from services.models import PublicService, ServiceCategory
from tests import factories as f
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

EPOCH = "1970-01-01T00:00:00Z"


def forged(**tokens):
    return b64encode(urlencode(tokens).encode()).decode()


def assert_error(response, status, attr=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"type", "errors"}
    assert set(body["errors"][0]) == {"code", "detail", "attr"}
    if attr is not None:
        assert body["type"] == "validation_error"
        assert [e["attr"] for e in body["errors"]] == [attr]
    return body


@pytest.fixture
def catalog(world):
    """Twelve services in two categories, and a few more categories."""
    other = f.CategoryFactory(code="land", name={"vi": "Đất đai", "en": "Land"}, position=2)
    for i in range(11):
        f.ServiceFactory(
            code=f"service-{i:02d}", category=other if i % 2 else world["service"].category
        )
    for i in range(4):
        f.CategoryFactory(code=f"category-{i}", name={"vi": f"Lĩnh vực {i}"}, position=5)
    return PublicService.objects.all()


@pytest.fixture
def dossiers(world, citizen_a):
    from services.actions import submit_request

    form = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}
    for _ in range(6):
        submit_request(
            applicant=citizen_a, service=world["service"], commune=world["lam_binh"], form_data=form
        )


@pytest.mark.parametrize("size", ["0", "-1", "101", "abc", "1.5", "1e2", "99999999"])
def test_a_page_size_out_of_bounds_is_a_400_on_page_size(catalog, api, size):
    body = assert_error(api.get("/api/v1/services/", {"page_size": size}), 400, "page_size")
    assert body["errors"][0]["code"] == "invalid"


@pytest.mark.parametrize(
    "url", ["/api/v1/services/", "/api/v1/service-categories/", "/api/v1/agencies/"]
)
def test_every_list_checks_page_size(catalog, api, url):
    assert_error(api.get(url, {"page_size": 0}), 400, "page_size")


def test_page_size_checks_apply_to_the_sync_walk_too(catalog, api):
    response = api.get("/api/v1/services/", {"page_size": 101, "updated_since": EPOCH})
    assert_error(response, 400, "page_size")


def test_page_size_bounds_are_inclusive_and_blank_means_the_default(catalog, api):
    assert len(api.get("/api/v1/services/", {"page_size": 1}).json()["results"]) == 1
    assert len(api.get("/api/v1/services/", {"page_size": 100}).json()["results"]) == 12
    default = api.get("/api/v1/services/?page_size=").json()
    assert len(default["results"]) == 12
    assert default["next"] is None


def test_default_page_size_is_twenty(world, citizen_a):
    for i in range(25):
        Notification.objects.create(user=citizen_a, kind="k", title=f"t{i}", body="b")
    assert len(client_for(citizen_a).get("/api/v1/notifications/").json()["results"]) == 20


def test_following_next_visits_every_service_once(catalog, api):
    seen, url = [], "/api/v1/services/?page_size=5"
    while url:
        body = api.get(url).json()
        seen += [item["code"] for item in body["results"]]
        url = body["next"]
    assert seen == sorted(PublicService.objects.values_list("code", flat=True))


def test_categories_are_a_paginated_list_in_catalog_order(catalog, api):
    seen, url = [], "/api/v1/service-categories/?page_size=2"
    while url:
        body = api.get(url).json()
        seen += [item["code"] for item in body["results"]]
        url = body["next"]
    assert seen == list(ServiceCategory.objects.values_list("code", flat=True))
    assert seen[:2] == ["civil-status", "land"]


@pytest.mark.parametrize(
    ("url", "cursor"),
    [
        ("/api/v1/services/", "not base64 at all!"),
        ("/api/v1/services/", forged(o="-3")),
        ("/api/v1/services/", forged(r="x")),
        ("/api/v1/services/", forged(p="no such code/../")),
        ("/api/v1/service-categories/", forged(p="abc")),
        ("/api/v1/service-categories/", forged(p="99999999999999999999999")),
        ("/api/v1/agencies/", forged(p="x" * 500)),
        ("/api/v1/administrative-units/", forged(p="1e9")),
        # the sync walk's cursor: every part is checked
        (f"/api/v1/services/?updated_since={EPOCH}", forged(p="2026-01-01T00:00:00Z", i="1")),
        (
            f"/api/v1/services/?updated_since={EPOCH}",
            forged(s="yesterday", p="2026-01-01T00:00:00Z", i="1"),
        ),
        (
            f"/api/v1/services/?updated_since={EPOCH}",
            forged(s="2026-01-01T00:00:00Z", p="2026-01-01T00:00:00", i="1"),
        ),
        (
            f"/api/v1/services/?updated_since={EPOCH}",
            forged(s="2026-01-01T00:00:00Z", p="0001-01-01T00:00:00+07:00", i="1"),
        ),
        (
            f"/api/v1/services/?updated_since={EPOCH}",
            forged(s="2026-01-01T00:00:00Z", p="2026-01-01T00:00:00Z", i="one"),
        ),
    ],
)
def test_a_forged_cursor_is_a_404_never_a_500(catalog, api, url, cursor):
    separator = "&" if "?" in url else "?"
    response = api.get(f"{url}{separator}{urlencode({'cursor': cursor})}")
    body = assert_error(response, 404)
    assert body["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize("position", ["yesterday", "2026-02-30 10:00:00+00:00", "12"])
def test_a_forged_date_position_on_a_private_list_is_a_404(world, citizen_a, dossiers, position):
    response = client_for(citizen_a).get("/api/v1/requests/", {"cursor": forged(p=position)})
    assert_error(response, 404)


def test_a_forged_uuid_in_the_sync_cursor_is_a_404(world, citizen_a, dossiers):
    cursor = forged(s="2026-01-01T00:00:00Z", p="2026-01-01T00:00:00Z", i="not-a-uuid")
    response = client_for(citizen_a).get(
        "/api/v1/requests/", {"updated_since": EPOCH, "cursor": cursor}
    )
    assert_error(response, 404)


# Query counts: what a page costs must not depend on how many items it holds.


def count_queries(client, url, params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(queries), response.json()


def assert_constant_queries(client, url, django_assert_num_queries, **params):
    from services.api.views import CATALOG_PAGES

    # Warm the per-process caches (enabled languages) so both pages start alike; the pages
    # kept whole (the catalog's first pages) are forgotten, so both are built.
    client.get(url, {**params, "page_size": 1})
    refcache.forget(CATALOG_PAGES)
    small, body = count_queries(client, url, {**params, "page_size": 1})
    assert len(body["results"]) == 1
    with django_assert_num_queries(small):
        body = client.get(url, {**params, "page_size": 10}).json()
    assert len(body["results"]) > 1


@pytest.fixture
def inbox(citizen_a):
    for i in range(5):
        Notification.objects.create(user=citizen_a, kind="k", title=f"t{i}", body="b")


@pytest.mark.parametrize("sync", [False, True], ids=["plain", "sync"])
@pytest.mark.parametrize(
    ("url", "who"),
    [
        ("/api/v1/requests/", "citizen_a"),
        ("/api/v1/requests/", "officer_commune"),
        ("/api/v1/notifications/", "citizen_a"),
        ("/api/v1/services/", None),
        ("/api/v1/services/", "citizen_a"),
        ("/api/v1/service-categories/", None),
    ],
)
def test_sync_lists_cost_the_same_queries_for_any_page_size(
    request, catalog, dossiers, inbox, django_assert_num_queries, url, who, sync
):
    from rest_framework.test import APIClient

    client = client_for(request.getfixturevalue(who)) if who else APIClient()
    params = {"updated_since": EPOCH} if sync else {}
    assert_constant_queries(client, url, django_assert_num_queries, **params)


@pytest.mark.parametrize(
    "url", ["/api/v1/agencies/", "/api/v1/administrative-units/", "/api/v1/services/"]
)
def test_reference_lists_cost_the_same_queries_for_any_page_size(
    catalog, api, django_assert_num_queries, url
):
    assert_constant_queries(api, url, django_assert_num_queries)


def test_a_sync_page_with_removals_costs_the_same_queries_for_any_page_size(
    catalog, api, django_assert_num_queries
):
    from services.actions import withdraw_service

    since = (timezone.now() - timedelta(hours=1)).isoformat()
    PublicService.objects.update(updated_at=timezone.now())
    withdraw_service(PublicService.objects.get(code="service-03"))
    withdraw_service(PublicService.objects.get(code="service-04"))
    api.get("/api/v1/services/", {"updated_since": since, "page_size": 1})
    small, body = count_queries(api, "/api/v1/services/", {"updated_since": since, "page_size": 1})
    assert body["removed"] == ["service-03", "service-04"]
    with django_assert_num_queries(small):
        api.get("/api/v1/services/", {"updated_since": since, "page_size": 10})
