"""No write commits behind a 5xx: a response that fails to render rolls its write back."""

import pytest
from rest_framework.test import APIClient

from common.api.renderers import FastJSONRenderer
from common.models import IdempotencyRecord
from services.models import ServiceRequest
from tests.accounts.helpers import register_code
from tests.conftest import client_for
from tests.services.workflow import make_dossier

REQUESTS = "/api/v1/requests/"
FORM = {"child": {"full_name": "Hoàng Văn An", "birth_date": "2026-11-01"}}
DOSSIER = {"service": "birth-registration", "administrative_unit": 2266, "form_data": FORM}


class RenderFailure(Exception):
    pass


@pytest.fixture
def broken_renderer(monkeypatch):
    """Every JSON answer fails to render until the test calls `repair()`."""

    original = FastJSONRenderer.render

    def fail(self, *args, **kwargs):
        raise RenderFailure("cannot write this value")

    monkeypatch.setattr(FastJSONRenderer, "render", fail)

    class Switch:
        @staticmethod
        def repair():
            monkeypatch.setattr(FastJSONRenderer, "render", original)

    return Switch


def without_raising(client):
    client.raise_request_exception = False
    return client


# Real commits on both databases: a savepoint inside the test's transaction would hide a
# commit that leaks.
@pytest.mark.django_db(transaction=True)
def test_a_transition_whose_answer_fails_to_render_is_not_committed(
    world, officer_commune, citizen_a, broken_renderer
):
    dossier = make_dossier(world, citizen_a)
    events_before = dossier.events.count()
    client = without_raising(client_for(officer_commune))

    response = client.post(
        f"/api/v1/requests/{dossier.pk}/transitions/", {"action": "receive"}, format="json"
    )

    assert response.status_code == 500
    dossier.refresh_from_db()
    assert dossier.status == ServiceRequest.Status.SUBMITTED
    assert dossier.events.count() == events_before

    broken_renderer.repair()
    again = client.post(
        f"/api/v1/requests/{dossier.pk}/transitions/", {"action": "receive"}, format="json"
    )
    assert again.status_code == 200, again.json()
    dossier.refresh_from_db()
    assert dossier.status == ServiceRequest.Status.RECEIVED


@pytest.mark.django_db(transaction=True)
def test_a_create_whose_answer_fails_to_render_creates_nothing(world, citizen_a, broken_renderer):
    client = without_raising(client_for(citizen_a))

    response = client.post(REQUESTS, DOSSIER, format="json")

    assert response.status_code == 500
    assert not ServiceRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_an_idempotency_key_the_failed_attempt_frees_the_key_and_the_retry_runs_once(
    world, citizen_a, broken_renderer
):
    client = without_raising(client_for(citizen_a))
    headers = {"Idempotency-Key": "render-1"}

    failed = client.post(REQUESTS, DOSSIER, format="json", headers=headers)

    assert failed.status_code == 500
    assert not ServiceRequest.objects.exists()
    assert not IdempotencyRecord.objects.exists()

    broken_renderer.repair()
    first = client.post(REQUESTS, DOSSIER, format="json", headers=headers)
    again = client.post(REQUESTS, DOSSIER, format="json", headers=headers)
    assert first.status_code == 201, first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert ServiceRequest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_refusal_still_commits_what_the_view_keeps(world):
    """A 4xx is an answer, not a failure: the wrong guess at a one-time code still counts."""
    from accounts.models import OneTimeCode

    register_code("0912 345 678")
    body = {
        "phone": "0912 345 678",
        "password": "Nuong-Rau-2026!",
        "full_name": "Lò Thị Xuân",
        "otp": "000000",
    }

    response = APIClient().post("/api/v1/auth/register/", body, format="json")

    assert response.status_code == 400
    assert OneTimeCode.objects.get().attempts == 1
