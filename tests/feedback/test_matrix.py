"""The full (state, action, actor) matrix of the feedback state table, and its check order."""

import pytest

from feedback.actions import TRANSITIONS
from feedback.models import Feedback, FeedbackEvent
from tests.conftest import client_for
from tests.feedback.helpers import make_feedback

pytestmark = pytest.mark.django_db

STATES = [s.value for s in Feedback.Status]
STAFF_ACTIONS = {"accept", "reject", "mark_duplicate", "answer", "forward", "comment"}
ALLOWED = {
    "accept": {"submitted"},
    "reject": {"submitted", "in_progress"},
    "mark_duplicate": {"submitted", "in_progress"},
    "answer": {"in_progress"},
    "close": {"answered"},
    "reopen": {"answered"},
    "withdraw": {"submitted", "in_progress"},
    "forward": {"submitted", "in_progress", "answered"},
    "comment": {"submitted", "in_progress", "answered"},
}
TARGET = {
    "accept": "in_progress",
    "reject": "rejected",
    "mark_duplicate": "rejected",
    "answer": "answered",
    "close": "closed",
    "reopen": "in_progress",
    "withdraw": "withdrawn",
}


def body_for(action, world, original):
    return {
        "action": action,
        "reason": "Lý do",
        "answer": "Xã đã cử người sửa cầu.",
        "note": "Ghi chú",
        "agency": str(world["tq_board"].pk),
        "duplicate_of": str(original.pk),
    }


def test_matrix_covers_the_table():
    assert set(TRANSITIONS) == set(ALLOWED)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(ALLOWED))
def test_state_action_actor(
    world, citizen_a, citizen_b, officer_commune, officer_other_province, state, action
):
    original = make_feedback(world, citizen_b, status="in_progress", title="Gốc")
    actors = {
        "author": citizen_a,
        "officer": officer_commune,
        "foreign_citizen": citizen_b,
        "foreign_officer": officer_other_province,
    }
    for name, actor in actors.items():
        item = make_feedback(world, citizen_a, status=state)
        response = client_for(actor).post(
            f"/api/v1/feedback/{item.pk}/transitions/",
            body_for(action, world, original),
            format="json",
        )
        item.refresh_from_db()
        if name.startswith("foreign"):
            expected = 404
        elif (action in STAFF_ACTIONS) != (name == "officer"):
            expected = 403
        elif state not in ALLOWED[action]:
            expected = 409
        else:
            expected = 200
        assert response.status_code == expected, (name, response.json())
        if expected == 200:
            assert item.status == TARGET.get(action, state)
            assert FeedbackEvent.objects.filter(feedback=item, action=action).exists()
        else:
            assert item.status == state
            assert not FeedbackEvent.objects.filter(feedback=item, action=action).exists()


def test_bad_body_is_400_before_403(world, citizen_a):
    item = make_feedback(world, citizen_a)
    response = client_for(citizen_a).post(
        f"/api/v1/feedback/{item.pk}/transitions/", {"action": "answer"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "answer"
