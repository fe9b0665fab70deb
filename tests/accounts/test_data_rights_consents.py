"""Consents (`me/consents/`) and what they govern: coordinates and publishing of feedback."""

from decimal import Decimal

import pytest

from accounts.models import Consent
from common.models import AuditLogEntry
from feedback.models import Feedback
from feedback.selectors import public_feedback
from tests.accounts.helpers import assert_error
from tests.conftest import client_for
from tests.feedback.helpers import category, make_feedback

CONSENTS = "/api/v1/me/consents/"

pytestmark = pytest.mark.django_db


def give(client, purpose, version="v1"):
    return client.post(
        CONSENTS, {"purpose": purpose, "text_version": version, "given": True}, format="json"
    )


def withdraw(client, purpose):
    return client.post(
        CONSENTS, {"purpose": purpose, "given": False, "text_version": "2026-01"}, format="json"
    )


def test_giving_a_consent_records_it_with_its_text_version(citizen_a):
    client = client_for(citizen_a)

    response = give(client, "location", "2026-01")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["purpose"] == "location"
    assert body["text_version"] == "2026-01"
    assert body["given_at"] and body["withdrawn_at"] is None
    listed = client.get(CONSENTS).json()
    assert [(c["purpose"], c["withdrawn_at"]) for c in listed] == [("location", None)]
    entry = AuditLogEntry.objects.get(action="give_consent")
    assert entry.actor == citizen_a
    assert entry.details == {"purpose": "location", "text_version": "2026-01"}


def test_giving_the_same_version_again_keeps_one_record(citizen_a):
    client = client_for(citizen_a)
    first = give(client, "publish").json()

    again = give(client, "publish")

    assert again.status_code == 200
    assert again.json() == first
    assert Consent.objects.filter(user=citizen_a).count() == 1


def test_withdrawing_closes_the_record_and_giving_again_opens_a_new_one(citizen_a):
    client = client_for(citizen_a)
    give(client, "location", "v1")

    withdrawn = withdraw(client, "location")

    assert withdrawn.status_code == 200
    assert withdrawn.json()["withdrawn_at"] is not None
    assert AuditLogEntry.objects.filter(action="withdraw_consent", actor=citizen_a).count() == 1
    assert give(client, "location", "v2").status_code == 201
    listed = client.get(CONSENTS).json()
    assert [(c["text_version"], c["withdrawn_at"] is None) for c in listed] == [
        ("v2", True),
        ("v1", False),
    ]


def test_withdrawing_what_was_never_given_is_409(citizen_a):
    response = withdraw(client_for(citizen_a), "publish")

    assert_error(response, 409, "consent_not_given")


@pytest.mark.parametrize(
    ("body", "attr", "code"),
    [
        (
            {"purpose": "marketing", "given": True, "text_version": "v1"},
            "purpose",
            "invalid_choice",
        ),
        ({"purpose": "location", "given": True}, "text_version", "required"),
        ({"purpose": "location"}, "given", "required"),
        (
            {"purpose": "location", "given": True, "text_version": "x" * 33},
            "text_version",
            "max_length",
        ),
        ({"purpose": "location", "given": True, "text_version": 3}, "text_version", "invalid"),
    ],
)
def test_bad_consent_bodies_are_400(citizen_a, body, attr, code):
    response = client_for(citizen_a).post(CONSENTS, body, format="json")

    assert_error(response, 400, code, attr)
    assert not Consent.objects.exists()


def test_consents_are_my_own(citizen_a, citizen_b, api):
    give(client_for(citizen_a), "location")

    assert client_for(citizen_b).get(CONSENTS).json() == []
    assert api.get(CONSENTS).status_code == 401


# -- what the consents govern in feedback ----------------------------------------------


def send_feedback(client, **extra):
    category()
    body = {
        "category": "infrastructure",
        "administrative_unit": 2266,
        "title": "Đường trơn trượt",
        "content": "Đường vào bản bị sạt lở.",
        "latitude": "22.412345",
        "longitude": "105.212345",
        "is_public": True,
    }
    body.update(extra)
    return client.post("/api/v1/feedback/", body, format="json")


def test_coordinates_without_location_consent_are_dropped_and_the_commune_kept(world, citizen_a):
    response = send_feedback(client_for(citizen_a))

    assert response.status_code == 201, response.content
    item = Feedback.objects.get(pk=response.json()["id"])
    assert (item.latitude, item.longitude) == (None, None)
    assert item.administrative_unit == world["lam_binh"]
    assert response.json()["latitude"] is None


def test_coordinates_with_location_consent_are_kept(world, citizen_a):
    client = client_for(citizen_a)
    give(client, "location")

    response = send_feedback(client)

    item = Feedback.objects.get(pk=response.json()["id"])
    assert (item.latitude, item.longitude) == (Decimal("22.412345"), Decimal("105.212345"))


def test_bad_coordinates_stay_a_400_without_consent(world, citizen_a):
    response = send_feedback(client_for(citizen_a), latitude="48.0")

    assert_error(response, 400, "outside_vietnam", "latitude")


def test_is_public_takes_effect_only_with_publish_consent(world, citizen_a):
    client = client_for(citizen_a)
    without = send_feedback(client, latitude=None, longitude=None)
    give(client, "publish")
    with_consent = send_feedback(client, latitude=None, longitude=None)

    assert Feedback.objects.get(pk=without.json()["id"]).is_public is False
    assert Feedback.objects.get(pk=with_consent.json()["id"]).is_public is True


def test_withdrawing_publish_takes_my_items_out_of_the_public_feed(world, citizen_a, citizen_b):
    mine = make_feedback(world, citizen_a, status="in_progress", is_public=True)
    theirs = make_feedback(world, citizen_b, status="in_progress", is_public=True)
    client = client_for(citizen_a)
    give(client, "publish")
    assert set(public_feedback()) == {mine, theirs}

    withdraw(client, "publish")

    assert list(public_feedback()) == [theirs]
