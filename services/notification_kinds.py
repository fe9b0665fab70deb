"""The notification kinds of dossiers: what each template may say, and the status labels.

Registered with `notifications.messages.register_kinds` when the app starts; the texts are
`NotificationTemplate` rows seeded by `services/migrations/0005_notification_templates.py`.
"""

from notifications.messages import register_kinds
from services.actions import DOSSIERS

KINDS: dict[str, dict[str, str]] = {
    **DOSSIERS.notification_kinds(),
    # The first kinds, which say less than the workflow's.
    "service_request.submitted": {
        "tracking_code": "Mã hồ sơ, ví dụ DV-7K3M-9QX2-H",
        "service_name": "Tên thủ tục, theo ngôn ngữ của người nhận",
        "agency_name": "Cơ quan giải quyết hồ sơ",
    },
    "service_request.received": {
        "tracking_code": "Mã hồ sơ",
        "agency_name": "Cơ quan đã tiếp nhận hồ sơ",
        "due_date": "Ngày hẹn trả kết quả",
    },
    "service_request.status_changed": {
        "tracking_code": "Mã hồ sơ",
        "status": "Mã trạng thái mới, ví dụ in_progress",
        "status_label": "Tên trạng thái mới, theo ngôn ngữ của người nhận",
    },
}

STATUS_LABELS = {
    "service_request": {
        "vi": {
            "submitted": "Đã nộp",
            "received": "Đã tiếp nhận",
            "supplement_requested": "Cần bổ sung giấy tờ",
            "in_progress": "Đang giải quyết",
            "result_ready": "Đã có kết quả",
            "completed": "Đã trả kết quả",
            "rejected": "Bị từ chối",
            "cancelled": "Đã huỷ",
        },
        "en": {
            "submitted": "Submitted",
            "received": "Received",
            "supplement_requested": "More documents needed",
            "in_progress": "In progress",
            "result_ready": "Result ready",
            "completed": "Completed",
            "rejected": "Rejected",
            "cancelled": "Cancelled",
        },
    },
}


def register() -> None:
    register_kinds(KINDS, status_labels=STATUS_LABELS)
