"""The citizen's main flow, driven through the Python client generated from the spec
(openapi-python-client, run by .ci/contract) against the live server:

register (the one-time code read from the fake SMS gateway) → sign in → submit a dossier →
staff (the officer's token) receive, start, approve, return the result → the citizen's inbox
shows a notification for each step.

    CONTRACT_API=… CONTRACT_SMS=… CONTRACT_STAFF_TOKEN=… \
        python openapi/contract/citizen_flow.py build/contract/python

Each step uses the generated client's typed models and checks the status and the parsed
answer; any difference is an AssertionError naming the step.
"""

from __future__ import annotations

import os
import random
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import live

# The commune of the demo officer (UBND xã Lâm Bình) and a commune-level service.
COMMUNE = 2266
SERVICE = "residence-confirmation"
FORM = {"full_name": "Lò Thị Hoa", "id_number": "008190000123", "purpose": "Xin việc"}
STAFF_STEPS: list[dict[str, Any]] = [
    {"action": "receive"},
    {"action": "start"},
    {"action": "approve", "result": "Xác nhận thông tin cư trú số 12/XN."},
    {"action": "return_result"},
]


def check(response: Any, status: int, step: str) -> Any:
    assert response.status_code == status, (
        f"{step}: expected {status}, got {response.status_code}: {response.content[:500]!r}"
    )
    assert response.parsed is not None, f"{step}: the client could not parse {response.content!r}"
    return response.parsed


def main(generated: Path) -> None:
    sys.path.insert(0, str(generated))
    from dichvu_vungcao_client import AuthenticatedClient, Client
    from dichvu_vungcao_client.api.auth import obtain_token, register_citizen, send_one_time_code
    from dichvu_vungcao_client.api.notifications import (
        count_unread_notifications,
        list_notifications,
    )
    from dichvu_vungcao_client.api.requests import (
        apply_service_request_action,
        create_service_request,
        get_service_request,
    )
    from dichvu_vungcao_client.models import (
        OtpPurposeEnum,
        OtpRequestRequest,
        PaginatedInboxNotificationList,
        PhoneTokenObtainPairRequest,
        RegistrationRequest,
        ServiceRequestApproveActionRequest,
        ServiceRequestInputRequest,
        ServiceRequestInputRequestFormData,
        ServiceRequestReceiveActionRequest,
        ServiceRequestReturnResultActionRequest,
        ServiceRequestStartActionRequest,
    )

    actions = {
        "receive": ServiceRequestReceiveActionRequest,
        "start": ServiceRequestStartActionRequest,
        "approve": ServiceRequestApproveActionRequest,
        "return_result": ServiceRequestReturnResultActionRequest,
    }
    anonymous = Client(base_url=live.API, raise_on_unexpected_status=True)
    phone = f"0987 {random.randint(0, 999):03d} {random.randint(0, 999):03d}"  # noqa: S311
    password = live.PASSWORD

    seen = live.message_count()
    body = OtpRequestRequest(phone=phone, purpose=OtpPurposeEnum.REGISTER)
    check(send_one_time_code.sync_detailed(client=anonymous, body=body), 202, "one-time code")
    otp = live.one_time_code(phone, seen)
    registration = RegistrationRequest(
        phone=phone, password=password, full_name="Lò Thị Hoa", otp=otp
    )
    check(register_citizen.sync_detailed(client=anonymous, body=registration), 201, "register")
    sign_in = PhoneTokenObtainPairRequest(
        phone=phone, password=password, platform="android", app_version="1.0"
    )
    tokens = check(obtain_token.sync_detailed(client=anonymous, body=sign_in), 200, "sign in")
    citizen = AuthenticatedClient(base_url=live.API, token=tokens.access)
    staff = AuthenticatedClient(base_url=live.API, token=os.environ["CONTRACT_STAFF_TOKEN"])

    dossier_input = ServiceRequestInputRequest(
        service=SERVICE,
        administrative_unit=COMMUNE,
        form_data=ServiceRequestInputRequestFormData.from_dict(FORM),
        id=uuid.uuid4(),
    )
    dossier = check(
        create_service_request.sync_detailed(
            client=citizen, body=dossier_input, idempotency_key=str(uuid.uuid4())
        ),
        201,
        "submit a dossier",
    )
    assert dossier.status == "submitted", dossier.status

    for step in STAFF_STEPS:
        answer = check(
            apply_service_request_action.sync_detailed(
                dossier.id, client=staff, body=actions[step["action"]].from_dict(step)
            ),
            200,
            f"staff: {step['action']}",
        )
        print(f"  {step['action']}: {answer.status}")
    final = check(get_service_request.sync_detailed(dossier.id, client=citizen), 200, "dossier")
    assert final.status == "completed", f"final status {final.status}"

    inbox = check(list_notifications.sync_detailed(client=citizen), 200, "inbox")
    assert isinstance(inbox, PaginatedInboxNotificationList), type(inbox)
    about = [item for item in inbox.results if item.data and item.data["id"] == str(dossier.id)]
    assert len(about) >= len(STAFF_STEPS), (
        f"inbox: {len(about)} notifications about the dossier, expected {len(STAFF_STEPS)}+: "
        f"{[item.title for item in inbox.results]}"
    )
    unread = check(count_unread_notifications.sync_detailed(client=citizen), 200, "unread")
    assert unread.count >= len(about), unread
    print(
        f"citizen flow: dossier {dossier.tracking_code} {final.status}, "
        f"{len(about)} notifications in the inbox, {unread.count} unread"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
