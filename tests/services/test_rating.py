"""Rating a completed dossier: the applicant, once."""

import pytest

from services.models import ServiceRequestRating
from tests.conftest import client_for
from tests.services.workflow import Status, make_dossier

pytestmark = pytest.mark.django_db


def rate(user, dossier, **body):
    return client_for(user).post(
        f"/api/v1/requests/{dossier.pk}/rating/", body or {"score": 5}, format="json"
    )


def test_the_applicant_rates_a_completed_dossier_once(world, citizen_a):
    dossier = make_dossier(world, citizen_a, Status.COMPLETED)
    response = rate(citizen_a, dossier, score=4, comment="Nhanh, chu đáo")
    assert response.status_code == 201, response.json()
    assert response.json()["score"] == 4
    rating = ServiceRequestRating.objects.get(request=dossier)
    assert (rating.author, rating.score, rating.comment) == (citizen_a, 4, "Nhanh, chu đáo")
    again = rate(citizen_a, dossier, score=1)
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "already_rated"
    assert ServiceRequestRating.objects.count() == 1


@pytest.mark.parametrize("state", [s for s in Status.values if s != Status.COMPLETED])
def test_only_completed_dossiers_are_rated(world, citizen_a, state):
    response = rate(citizen_a, make_dossier(world, citizen_a, state))
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "invalid_transition"


def test_foreign_users_get_404_and_staff_403(
    world, citizen_a, citizen_b, officer_other_province, officer_commune
):
    dossier = make_dossier(world, citizen_a, Status.COMPLETED)
    assert rate(citizen_b, dossier).status_code == 404
    assert rate(officer_other_province, dossier).status_code == 404
    assert rate(officer_commune, dossier).status_code == 403
    assert not ServiceRequestRating.objects.exists()


@pytest.mark.parametrize("body", [{"score": 0}, {"score": 6}, {"score": "x"}, {}])
def test_score_is_1_to_5(world, citizen_a, body):
    dossier = make_dossier(world, citizen_a, Status.COMPLETED)
    response = client_for(citizen_a).post(
        f"/api/v1/requests/{dossier.pk}/rating/", body, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "score"
