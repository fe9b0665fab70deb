"""Every list a phone keeps speaks the same three mechanisms.

`?updated_since=` with the sync envelope `{next, previous, results, removed, server_time}`,
an `ETag` that `If-None-Match` turns into a bodiless 304, and `?fields=` to trim items — on
my dossiers, my feedback, my inbox, the catalog and both category lists alike.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from notifications.models import Notification
from services.actions import submit_request
from tests import factories as f
from tests.conftest import client_for
from tests.feedback.helpers import category, make_feedback

pytestmark = pytest.mark.django_db

EPOCH = "1970-01-01T00:00:00Z"
FORM = {"child": {"full_name": "Lò Thị Xuân", "birth_date": "2026-09-02"}}
ENVELOPE = {"next", "previous", "results", "removed", "server_time"}


@dataclass
class PhoneList:
    url: str
    key: str  # the field that identifies an item
    fields: str  # a `?fields=` the phone's list screen would ask for
    personal: bool  # needs the citizen's token

    def client(self, citizen) -> APIClient:
        return client_for(citizen) if self.personal else APIClient()


LISTS = {
    "requests": PhoneList("/api/v1/requests/", "id", "id,status,updated_at", True),
    "feedback": PhoneList("/api/v1/feedback/", "id", "id,status,support_count", True),
    "notifications": PhoneList("/api/v1/notifications/", "id", "id,title,read_at", True),
    "services": PhoneList("/api/v1/services/", "code", "code,name", False),
    "service-categories": PhoneList("/api/v1/service-categories/", "code", "code", False),
    "feedback-categories": PhoneList("/api/v1/feedback-categories/", "code", "code,name", False),
}


def add_item(name: str, world: dict[str, Any], citizen, n: int = 0) -> str:
    """Put one more item in the list `name` of `citizen`; its id as the API shows it."""
    if name == "requests":
        dossier, _ = submit_request(
            applicant=citizen, service=world["service"], commune=world["lam_binh"], form_data=FORM
        )
        return str(dossier.pk)
    if name == "feedback":
        return str(make_feedback(world, citizen, title=f"Đường vào bản Khuổi Củng sạt lở ({n})").pk)
    if name == "notifications":
        note = Notification.objects.create(
            user=citizen, kind="announcement", title=f"Lịch tiêm chủng đợt {n}", body="…"
        )
        return str(note.pk)
    if name == "services":
        return f.ServiceFactory(
            code=f"temporary-residence-{n}", name={"vi": "Đăng ký tạm trú"}
        ).code
    if name == "service-categories":
        return f.CategoryFactory(code=f"land-{n}", name={"vi": "Đất đai"}).code
    return category(f"environment-{n}").code


@pytest.fixture
def filled(world, citizen_a):
    """One item in each list."""
    return {name: add_item(name, world, citizen_a) for name in LISTS if name != "services"} | {
        "services": world["service"].code
    }


@pytest.mark.parametrize("name", LISTS)
def test_updated_since_answers_the_sync_envelope(filled, citizen_a, name):
    spec = LISTS[name]
    response = spec.client(citizen_a).get(spec.url, {"updated_since": EPOCH})

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == ENVELOPE
    assert filled[name] in [item[spec.key] for item in body["results"]]
    assert body["removed"] == []
    assert parse_datetime(body["server_time"]).utcoffset() is not None


@pytest.mark.parametrize("name", LISTS)
def test_the_plain_list_carries_an_etag_that_answers_304(filled, world, citizen_a, name):
    spec = LISTS[name]
    client = spec.client(citizen_a)
    first = client.get(spec.url)
    assert first.status_code == 200
    tag = first["ETag"]
    assert tag.startswith('"')

    again = client.get(spec.url, HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == tag

    add_item(name, world, citizen_a, n=1)
    changed = client.get(spec.url, HTTP_IF_NONE_MATCH=tag)
    assert changed.status_code == 200
    assert changed["ETag"] != tag


@pytest.mark.parametrize("name", LISTS)
def test_fields_trims_items_and_never_the_envelope(filled, citizen_a, name):
    spec = LISTS[name]
    client = spec.client(citizen_a)
    wanted = spec.fields.split(",")

    plain = client.get(spec.url, {"fields": spec.fields}).json()
    synced = client.get(spec.url, {"fields": spec.fields, "updated_since": EPOCH}).json()

    assert set(plain) == {"next", "previous", "results"}
    assert set(synced) == ENVELOPE
    for body in (plain, synced):
        assert body["results"]
        assert all(list(item) == wanted for item in body["results"])

    wrong = client.get(spec.url, {"fields": "id,colour"})
    assert wrong.status_code == 400
    assert [e["attr"] for e in wrong.json()["errors"]] == ["fields"]


@pytest.mark.parametrize("name", ["requests", "feedback", "notifications"])
def test_personal_lists_are_the_callers_own(filled, citizen_a, citizen_b, name):
    spec = LISTS[name]
    body = client_for(citizen_b).get(spec.url, {"updated_since": EPOCH}).json()
    assert filled[name] not in [item[spec.key] for item in body["results"]]
    # Same URL, other person: the tags differ, so no cache hands one the other's page.
    mine = client_for(citizen_a).get(spec.url)["ETag"]
    assert client_for(citizen_b).get(spec.url, HTTP_IF_NONE_MATCH=mine).status_code == 200
