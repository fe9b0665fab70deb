"""Every (state, action, actor) of the dossier state table, against DESIGN's table."""

import pytest

from services.actions import TRANSITIONS
from services.models import ServiceRequest, ServiceRequestEvent
from tests.services.workflow import Status, act, make_dossier

pytestmark = pytest.mark.django_db

OPEN = {
    Status.SUBMITTED,
    Status.RECEIVED,
    Status.SUPPLEMENT_REQUESTED,
    Status.IN_PROGRESS,
    Status.RESULT_READY,
}
# DESIGN's state table, written out again so the code's table is checked, not trusted.
SOURCES = {
    "receive": {Status.SUBMITTED},
    "start": {Status.RECEIVED},
    "approve": {Status.IN_PROGRESS},
    "return_result": {Status.RESULT_READY},
    "reject": {Status.SUBMITTED, Status.RECEIVED, Status.IN_PROGRESS},
    "cancel": {Status.SUBMITTED, Status.SUPPLEMENT_REQUESTED},
    "request_supplement": {Status.SUBMITTED, Status.RECEIVED, Status.IN_PROGRESS},
    "supplement": {Status.SUPPLEMENT_REQUESTED},
    "assign": OPEN,
    "forward": OPEN,
    "comment": OPEN,
}
TARGETS = {
    "receive": Status.RECEIVED,
    "start": Status.IN_PROGRESS,
    "approve": Status.RESULT_READY,
    "return_result": Status.COMPLETED,
    "reject": Status.REJECTED,
    "cancel": Status.CANCELLED,
    "request_supplement": Status.SUPPLEMENT_REQUESTED,
    "supplement": Status.RECEIVED,  # the state the built dossier came from
}
APPLICANT_ACTIONS = {"cancel", "supplement"}
ACTORS = ("applicant", "officer", "manager", "officer_other_province", "other_citizen")


def body_for(action, world, officer):
    return {
        "approve": {"result": "Giấy khai sinh số 12"},
        "reject": {"reason": "Sai thủ tục"},
        "comment": {"note": "Đã xem"},
        "request_supplement": {
            "reason": "Thiếu giấy tờ",
            "items": [{"kind": "document", "label": "Giấy chứng sinh"}],
        },
        "supplement": {"responses": [{"item_id": "0b8f0d1e-5f0a-4c55-9d6a-2b1b8d1c0a01"}]},
        "assign": {"assignee": str(officer.pk)},
        "forward": {"agency": str(world["tq_board"].pk), "reason": "Thuộc thẩm quyền tỉnh"},
    }.get(action, {})


def expected_status(action, state, actor):
    if actor in ("officer_other_province", "other_citizen"):
        return 404
    applicant_action = action in APPLICANT_ACTIONS
    if (actor == "applicant") != applicant_action:
        return 403
    return 200 if state in SOURCES[action] else 409


def test_the_table_covers_every_action_of_the_code():
    assert set(SOURCES) == set(TRANSITIONS)


@pytest.mark.parametrize("action", sorted(SOURCES))
@pytest.mark.parametrize("state", ServiceRequest.Status.values)
def test_matrix(
    world,
    citizen_a,
    citizen_b,
    officer_commune,
    manager_province,
    officer_other_province,
    state,
    action,
):
    users = {
        "applicant": citizen_a,
        "officer": officer_commune,
        "manager": manager_province,
        "officer_other_province": officer_other_province,
        "other_citizen": citizen_b,
    }
    for actor in ACTORS:
        dossier = make_dossier(world, citizen_a, state)
        response = act(users[actor], dossier, action, **body_for(action, world, officer_commune))
        expected = expected_status(action, state, actor)
        assert response.status_code == expected, (actor, response.json())
        dossier.refresh_from_db()
        events = ServiceRequestEvent.objects.filter(request=dossier, action=action).count()
        if expected == 200:
            assert dossier.status == TARGETS.get(action, state), actor
            assert events == 1
            assert response.json()["status"] == dossier.status
        else:
            assert dossier.status == state
            assert events == 0
            code = response.json()["errors"][0]["code"]
            assert code == {404: "not_found", 403: "permission_denied"}.get(
                expected, "invalid_transition"
            )
