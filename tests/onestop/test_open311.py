"""Open311 GeoReport v2 over feedback at /open311/v2/."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone

from feedback.models import Feedback
from onestop.demo.feedback import OPEN311_DEMO_KEY, seed_open311_demo_client
from onestop.models import Open311Client, Open311Request
from onestop.open311 import clients
from tests.conftest import client_for
from tests.feedback.helpers import category, make_feedback

pytestmark = pytest.mark.postgres

BASE = "/open311/v2"


@pytest.fixture
def demo(world):
    category()
    return seed_open311_demo_client()


@pytest.fixture
def other_client(world):
    client = Open311Client(name="Another app")
    key = clients.issue_key(client)
    return client, key


def create(api_key=OPEN311_DEMO_KEY, fmt=".json", **fields):
    body = {
        "api_key": api_key,
        "service_code": "infrastructure",
        "address_id": "2266",
        "description": "Cầu treo bản Nà Khà bị gãy ván\nHọc sinh đi lại nguy hiểm.",
        **fields,
    }
    return Client().post(f"{BASE}/requests{fmt}", body)


def test_georeport_flow_end_to_end(world, demo, officer_commune):
    created = create(lat="22.41", long="105.21", **{"attribute[village]": "Nà Khà"})
    assert created.status_code == 201, created.content
    [answer] = created.json()
    request_id, token = answer["service_request_id"], answer["token"]
    item = Feedback.objects.get(tracking_code=request_id)
    demo.refresh_from_db()
    assert item.title == "Cầu treo bản Nà Khà bị gãy ván"
    assert item.agency == world["lam_binh_office"]
    assert item.author == demo.system_user and not item.author.is_active
    assert Open311Request.objects.get(feedback=item).client == demo

    shown = Client().get(f"{BASE}/requests/{request_id}.json", {"api_key": OPEN311_DEMO_KEY})
    assert shown.json()[0]["status"] == "open"
    assert shown.json()[0]["address"] == "Nà Khà, Xã Lâm Bình, Tuyên Quang"
    assert shown.json()[0]["lat"] == 22.41

    officer = client_for(officer_commune)
    for body in ({"action": "accept"}, {"action": "answer", "answer": "Đã thay ván cầu."}):
        response = officer.post(f"/api/v1/feedback/{item.pk}/transitions/", body, format="json")
        assert response.status_code == 200, response.json()

    shown = Client().get(f"{BASE}/requests/{request_id}.json", {"api_key": OPEN311_DEMO_KEY})
    assert shown.status_code == 200
    [request] = shown.json()
    assert request["status"] == "closed"
    assert request["status_notes"] == "Đã thay ván cầu."
    assert request["service_code"] == "infrastructure"
    assert request["agency_responsible"] == "UBND xã Lâm Bình"
    assert request["address_id"] == "2266"

    xml = Client().get(f"{BASE}/requests/{request_id}.xml", {"api_key": OPEN311_DEMO_KEY})
    assert xml["Content-Type"].startswith("text/xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "service_requests"
    assert root.find("request/status").text == "closed"
    assert root.find("request/status_notes").text == "Đã thay ván cầu."

    by_token = Client().get(f"{BASE}/tokens/{token}.json").json()
    assert by_token == [{"service_request_id": request_id, "token": token}]


def test_coordinates_alone_cannot_be_placed(world, demo):
    response = create(address_id="", lat="22.41", long="105.21")
    assert response.status_code == 400
    [error] = response.json()
    assert error["code"] == 400
    assert "address_id" in error["description"]
    assert not Feedback.objects.exists()
    # attribute[commune] does as well as address_id.
    assert create(address_id="", **{"attribute[commune]": "2266"}).status_code == 201


def test_errors_in_georeport_format_json_and_xml(world, demo):
    assert create(api_key="").status_code == 403
    wrong = create(api_key="nope")
    assert wrong.status_code == 403
    assert set(wrong.json()[0]) == {"code", "description"}
    unknown = create(service_code="nope", fmt=".xml")
    assert unknown.status_code == 404
    root = ET.fromstring(unknown.content)
    assert root.tag == "errors" and root.find("error/code").text == "404"
    assert Client().get(f"{BASE}/requests/PA-0000-0000-0.json").status_code == 404
    assert Client().get(f"{BASE}/services/nope.json").status_code == 404
    bad_status = Client().get(f"{BASE}/requests.json", {"status": "pending"})
    assert bad_status.status_code == 400


def test_author_is_the_verified_account_of_the_phone(world, demo, citizen_a, citizen_b):
    citizen_a.phone_verified_at = timezone.now()
    citizen_a.save()
    assert create(phone="0900 000 001").status_code == 201
    assert Feedback.objects.get().author == citizen_a
    # An unverified account is not attached: the item goes to the client's system user.
    assert create(phone=citizen_b.phone).status_code == 201
    assert Feedback.objects.filter(author=citizen_b).count() == 0
    demo.refresh_from_db()
    assert Feedback.objects.filter(author=demo.system_user).count() == 1


def test_other_clients_see_public_items_only_and_never_an_identity(
    world, demo, other_client, citizen_a
):
    _client, other_key = other_client
    private = create().json()[0]["service_request_id"]
    public = create(**{"attribute[public]": "true", "attribute[anonymous]": "true"}).json()[0][
        "service_request_id"
    ]
    Feedback.objects.filter(tracking_code=public).update(status="in_progress")
    mine = Client().get(f"{BASE}/requests.json", {"api_key": OPEN311_DEMO_KEY}).json()
    assert {item["service_request_id"] for item in mine} == {private, public}
    theirs = Client().get(f"{BASE}/requests.json", {"api_key": other_key}).json()
    assert [item["service_request_id"] for item in theirs] == [public]
    assert "lat" not in theirs[0]
    anonymous = Client().get(f"{BASE}/requests.json").json()
    assert [item["service_request_id"] for item in anonymous] == [public]
    assert (
        Client().get(f"{BASE}/requests/{private}.json", {"api_key": other_key}).status_code == 404
    )
    # A citizen's public, anonymous item: nothing in the answer names them.
    item = make_feedback(world, citizen_a, is_anonymous=True, is_public=True, status="in_progress")
    answer = Client().get(f"{BASE}/requests/{item.tracking_code}.json").content.decode()
    for identity in (citizen_a.phone, citizen_a.full_name, str(citizen_a.pk)):
        assert identity not in answer


def test_list_filters(world, demo):
    first = create(**{"attribute[public]": "true"}).json()[0]["service_request_id"]
    second = create().json()[0]["service_request_id"]
    Feedback.objects.filter(tracking_code=first).update(status="answered", answer="Xong")

    def ids(**params):
        response = Client().get(f"{BASE}/requests.json", {"api_key": OPEN311_DEMO_KEY, **params})
        assert response.status_code == 200, response.content
        return {item["service_request_id"] for item in response.json()}

    assert ids(status="closed") == {first}
    assert ids(status="open") == {second}
    assert ids(status="open,closed") == {first, second}
    assert ids(service_code="environment") == set()
    assert ids(service_request_id=f"{first},{second.lower()}") == {first, second}
    assert ids(start_date="2999-01-01T00:00:00Z") == set()
    assert ids(end_date="2000-01-01T00:00:00+07:00") == set()


def test_discovery_and_services(world, demo):
    discovery = Client().get(f"{BASE}/discovery.json").json()
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    services = Client().get(f"{BASE}/services.json", {"lang": "en"}).json()
    assert services[0]["service_code"] == "infrastructure"
    assert services[0]["service_name"] == "Infrastructure"
    assert services[0]["metadata"] is True
    definition = Client().get(f"{BASE}/services/infrastructure.json").json()
    assert [a["code"] for a in definition["attributes"]] == [
        "commune",
        "village",
        "anonymous",
        "public",
    ]
    xml = ET.fromstring(Client().get(f"{BASE}/services.xml").content)
    assert xml.tag == "services" and xml.find("service/service_code").text == "infrastructure"
    same = Client().get(f"{BASE}/services", {"format": "xml"})
    assert same["Content-Type"].startswith("text/xml")


def test_api_key_is_rate_limited(world, demo, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    demo.requests_per_minute = 2
    demo.save()
    statuses = [
        Client().get(f"{BASE}/requests.json", {"api_key": OPEN311_DEMO_KEY}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_keys_are_stored_hashed_and_reissued(world, demo):
    demo.refresh_from_db()
    assert OPEN311_DEMO_KEY not in (demo.key_hash, demo.key_prefix + "x")
    new_key = clients.issue_key(demo)
    assert clients.client_for_key(OPEN311_DEMO_KEY) is None
    assert clients.client_for_key(new_key) == demo


def test_admin_issues_a_key_once(world, superuser):
    client = Client()
    client.force_login(superuser)
    response = client.post(
        "/admin/onestop/open311client/add/",
        {"name": "Zalo mini app", "requests_per_minute": 30, "is_active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    [shown] = [str(m) for m in response.context["messages"] if "o311_" in str(m)]
    app = Open311Client.objects.get(name="Zalo mini app")
    key = shown.split(": ")[-1].strip()
    assert clients.client_for_key(key) == app


def test_demo_data_has_the_demo_client(world):
    seed_open311_demo_client()
    seed_open311_demo_client()
    assert Open311Client.objects.count() == 1
    assert clients.client_for_key(OPEN311_DEMO_KEY) is not None
