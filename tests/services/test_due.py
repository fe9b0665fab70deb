"""Due dates: the overdue filter and the morning reminders to staff."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from agencies.models import StaffMembership
from notifications.models import Notification
from services import tasks
from tests import factories as f
from tests.conftest import client_for
from tests.services.workflow import Status, make_dossier

pytestmark = pytest.mark.django_db


def ids(response):
    return {d["id"] for d in response.json()["results"]}


def test_overdue_filter(world, citizen_a, officer_commune):
    now = timezone.now()
    late = make_dossier(world, citizen_a, Status.IN_PROGRESS, due_at=now - timedelta(days=1))
    on_time = make_dossier(world, citizen_a, Status.RECEIVED, due_at=now + timedelta(days=1))
    undated = make_dossier(world, citizen_a, Status.SUBMITTED)
    done_late = make_dossier(world, citizen_a, Status.COMPLETED, due_at=now - timedelta(days=1))
    ready_late = make_dossier(world, citizen_a, Status.RESULT_READY, due_at=now - timedelta(days=1))
    client = client_for(officer_commune)
    overdue = client.get("/api/v1/requests/?overdue=true")
    assert overdue.status_code == 200
    assert ids(overdue) == {str(late.pk)}
    assert overdue.json()["results"][0]["is_overdue"] is True
    assert ids(client.get("/api/v1/requests/?overdue=false")) == {
        str(d.pk) for d in (on_time, undated, done_late, ready_late)
    }


@pytest.mark.parametrize("value", ["yes", "1", ""])
def test_bad_overdue_value_is_400(world, officer_commune, value):
    response = client_for(officer_commune).get(f"/api/v1/requests/?overdue={value}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "overdue"


def test_reminders_reach_assignee_or_agency_staff_and_managers_above(
    world, citizen_a, officer_commune, manager_province, officer_other_province
):
    now = timezone.now()
    colleague = f.UserFactory(phone="+84900000102", is_staff=True)
    StaffMembership.objects.create(user=colleague, agency=world["lam_binh_office"], role="officer")
    tomorrow = timezone.localtime(now) + timedelta(days=1)
    due_soon = make_dossier(world, citizen_a, Status.RECEIVED, due_at=tomorrow)
    overdue = make_dossier(
        world,
        citizen_a,
        Status.IN_PROGRESS,
        due_at=now - timedelta(days=2),
        assignee=officer_commune,
    )
    # Not reminded: far off, paused, finished, ready.
    make_dossier(world, citizen_a, Status.RECEIVED, due_at=now + timedelta(days=5))
    make_dossier(world, citizen_a, Status.SUPPLEMENT_REQUESTED, due_at=now - timedelta(days=1))
    make_dossier(world, citizen_a, Status.COMPLETED, due_at=now - timedelta(days=1))
    make_dossier(world, citizen_a, Status.RESULT_READY, due_at=now - timedelta(days=1))

    assert tasks.notify_due_dossiers() == 5

    sent = set(Notification.objects.values_list("user__phone", "kind", "data__tracking_code"))
    assert sent == {
        (officer_commune.phone, "service_request.due_soon", due_soon.tracking_code),
        (colleague.phone, "service_request.due_soon", due_soon.tracking_code),
        (manager_province.phone, "service_request.due_soon", due_soon.tracking_code),
        (officer_commune.phone, "service_request.overdue", overdue.tracking_code),
        (manager_province.phone, "service_request.overdue", overdue.tracking_code),
    }
    assert not Notification.objects.filter(user=citizen_a).exists()
    assert not Notification.objects.filter(user=officer_other_province).exists()


def test_reminders_run_every_morning():
    entry = settings.CELERY_BEAT_SCHEDULE["notify-due-dossiers"]
    assert entry["task"] == "services.tasks.notify_due_dossiers"
    assert entry["schedule"].hour == {7} and entry["schedule"].minute == {0}
    assert settings.CELERY_TIMEZONE == "Asia/Ho_Chi_Minh"
