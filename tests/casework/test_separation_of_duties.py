"""Separation of duties: nobody acts as staff on a case they own, and staff ratings of their
own agency's cases stay out of the statistics."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.models import Feedback, FeedbackRating
from onestop.stats import dossiers as dossier_stats
from onestop.stats import feedback as feedback_stats
from services.models import ServiceRequest, ServiceRequestRating
from tests.accounts.helpers import assert_error
from tests.conftest import client_for
from tests.feedback.helpers import make_feedback
from tests.services.workflow import make_dossier

pytestmark = pytest.mark.django_db

Status = ServiceRequest.Status


@pytest.mark.parametrize(
    ("status", "action", "body"),
    [
        (Status.SUBMITTED, "receive", {}),
        (Status.IN_PROGRESS, "approve", {"result": "Đã cấp"}),
        (Status.RESULT_READY, "return_result", {}),
        (Status.SUBMITTED, "reject", {"reason": "Thiếu giấy tờ"}),
    ],
)
def test_an_officer_does_not_handle_the_dossier_they_filed_for_themselves(
    world, officer_commune, status, action, body
):
    own = make_dossier(world, officer_commune, status=status)
    client = client_for(officer_commune)

    detail = client.get(f"/api/v1/requests/{own.pk}/").json()
    response = client.post(
        f"/api/v1/requests/{own.pk}/transitions/", {"action": action, **body}, format="json"
    )

    assert action not in detail["allowed_actions"]
    assert_error(response, 403, "permission_denied")
    assert ServiceRequest.objects.get(pk=own.pk).status == status


def test_an_officer_still_handles_what_they_filed_at_the_counter_for_someone(
    world, officer_commune, citizen_a
):
    filed = make_dossier(world, citizen_a, submitted_by=officer_commune)
    response = client_for(officer_commune).post(
        f"/api/v1/requests/{filed.pk}/transitions/", {"action": "receive"}, format="json"
    )
    assert response.status_code == 200, response.content


def test_an_officer_does_not_accept_their_own_feedback(world, officer_commune):
    own = make_feedback(world, officer_commune)
    response = client_for(officer_commune).post(
        f"/api/v1/feedback/{own.pk}/transitions/", {"action": "accept"}, format="json"
    )
    assert_error(response, 403, "permission_denied")
    assert Feedback.objects.get(pk=own.pk).status == Feedback.Status.SUBMITTED


def test_ratings_by_staff_of_the_handling_agency_are_left_out_of_statistics(
    world, officer_commune, manager_province, citizen_a
):
    start, end = timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1)
    agencies = type(world["lam_binh_office"]).objects.all()
    for rater, score in ((officer_commune, 5), (manager_province, 5), (citizen_a, 2)):
        dossier = make_dossier(world, rater, status=Status.COMPLETED)
        ServiceRequestRating.objects.create(request=dossier, author=rater, score=score)
        item = make_feedback(world, rater)
        FeedbackRating.objects.create(feedback=item, author=rater, score=score)

    dossier_tally = dossier_stats.ratings_by_agency(agencies, start, end)
    feedback_tally = feedback_stats.ratings_by_agency(agencies, start, end)

    office = world["lam_binh_office"].pk
    assert (dossier_tally[office].count, dossier_tally[office].total) == (1, 2)
    assert (feedback_tally[office].count, feedback_tally[office].total) == (1, 2)


def test_fields_an_action_does_not_read_are_ignored(world, officer_commune, citizen_a):
    dossier = make_dossier(world, citizen_a)

    response = client_for(officer_commune).post(
        f"/api/v1/requests/{dossier.pk}/transitions/",
        {"action": "receive", "result": "", "agency": None, "items": "x"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "received"
