"""Vietnamese and English texts of the dossier notification kinds (`services.notification_kinds`).

The texts are data from here on: staff edit them, and add languages, in the admin. They were
seeded by migrations of `notifications` until that app stopped knowing domain words; a
database seeded then keeps its rows, a new one gets them here.
"""

from django.db import migrations

# kind: {language: (title, body[, sms])}; an empty sms falls back to title + tracking code.
TEMPLATES = {
    "service_request.submitted": {
        "vi": (
            "Hồ sơ {tracking_code} đã được nộp",
            "Hồ sơ {service_name} của bạn đã được gửi tới {agency_name}. "
            "Bạn sẽ nhận được thông báo khi cơ quan tiếp nhận hồ sơ.",
        ),
        "en": (
            "Application {tracking_code} submitted",
            "Your {service_name} application has been sent to {agency_name}. "
            "We will let you know when it is received.",
        ),
    },
    "service_request.received": {
        "vi": (
            "Hồ sơ {tracking_code} đã được tiếp nhận",
            "{agency_name} đã tiếp nhận hồ sơ của bạn. Ngày hẹn trả kết quả: {due_date}.",
        ),
        "en": (
            "Application {tracking_code} received",
            "{agency_name} has received your application. Results are due on {due_date}.",
        ),
    },
    "service_request.status_changed": {
        "vi": (
            "Hồ sơ {tracking_code} có cập nhật mới",
            "Trạng thái hồ sơ của bạn: {status_label}. Mở ứng dụng để xem chi tiết.",
        ),
        "en": (
            "Update on application {tracking_code}",
            "Your application is now: {status_label}. Open the app for details.",
        ),
    },
    "service_request.supplement_requested": {
        "vi": (
            "Hồ sơ {tracking_code} cần bổ sung",
            "{agency_name} yêu cầu bổ sung hồ sơ: {reason}. Mở ứng dụng để xem và gửi bổ sung.",
            "",
        ),
        "en": (
            "Application {tracking_code} needs more information",
            "{agency_name} asks you to complete your application: {reason}. "
            "Open the app to see what is needed.",
            "",
        ),
    },
    "service_request.in_progress": {
        "vi": (
            "Hồ sơ {tracking_code} đang được giải quyết",
            "{agency_name} đang giải quyết hồ sơ {service_name} của bạn. "
            "Ngày hẹn trả kết quả: {due_date}.",
            "",
        ),
        "en": (
            "Application {tracking_code} in progress",
            "{agency_name} is processing your {service_name} application. "
            "Results are due on {due_date}.",
            "",
        ),
    },
    "service_request.result_ready": {
        "vi": (
            "Hồ sơ {tracking_code} đã có kết quả",
            "Hồ sơ {service_name} của bạn đã có kết quả tại {agency_name}.",
            "",
        ),
        "en": (
            "Result ready for application {tracking_code}",
            "The result of your {service_name} application is ready at {agency_name}.",
            "",
        ),
    },
    "service_request.completed": {
        "vi": (
            "Hồ sơ {tracking_code} đã trả kết quả",
            "Hồ sơ {service_name} đã hoàn thành. Mời bạn đánh giá chất lượng giải quyết.",
            "",
        ),
        "en": (
            "Application {tracking_code} completed",
            "Your {service_name} application is complete. Please rate how it was handled.",
            "",
        ),
    },
    "service_request.rejected": {
        "vi": (
            "Hồ sơ {tracking_code} bị từ chối",
            "{agency_name} từ chối hồ sơ của bạn. Lý do: {reason}.",
            "",
        ),
        "en": (
            "Application {tracking_code} rejected",
            "{agency_name} has rejected your application. Reason: {reason}.",
            "",
        ),
    },
    "service_request.cancelled": {
        "vi": ("Hồ sơ {tracking_code} đã được huỷ", "Hồ sơ {service_name} của bạn đã huỷ.", ""),
        "en": (
            "Application {tracking_code} cancelled",
            "Your {service_name} application has been cancelled.",
            "",
        ),
    },
    "service_request.due_soon": {
        "vi": (
            "Hồ sơ {tracking_code} sắp đến hạn",
            "Hồ sơ {service_name} tại {agency_name} đến hạn trả kết quả ngày {due_date}.",
            "",
        ),
        "en": (
            "Application {tracking_code} due soon",
            "The {service_name} application at {agency_name} is due on {due_date}.",
            "",
        ),
    },
    "service_request.overdue": {
        "vi": (
            "Hồ sơ {tracking_code} đã quá hạn",
            "Hồ sơ {service_name} tại {agency_name} đã quá hạn trả kết quả ({due_date}).",
            "",
        ),
        "en": (
            "Application {tracking_code} overdue",
            "The {service_name} application at {agency_name} was due on {due_date}.",
            "",
        ),
    },
    "service_request.assisted_submitted": {
        "vi": (
            "Hồ sơ {tracking_code} đã được nộp hộ",
            "Cán bộ {agency_name} đã nộp hộ bạn hồ sơ {service_name}.",
            "{agency_name} đã nộp hộ bạn hồ sơ {tracking_code}. Tra cứu bằng mã này.",
        ),
        "en": (
            "Application {tracking_code} filed for you",
            "Staff of {agency_name} filed a {service_name} application for you.",
            "{agency_name} filed application {tracking_code} for you. Use this code to follow it.",
        ),
    },
}


def seed(apps, schema_editor):
    """Create the rows a database does not have yet; rows that exist (edited by staff, or
    seeded before these texts moved here) stay as they are."""
    NotificationTemplate = apps.get_model("notifications", "NotificationTemplate")
    for kind, by_language in TEMPLATES.items():
        for language, (title, body, *sms) in by_language.items():
            NotificationTemplate.objects.get_or_create(
                kind=kind,
                language=language,
                defaults={
                    "title": title,
                    "body": body,
                    "sms": sms[0] if sms else "",
                    "reviewed": True,
                },
            )


class Migration(migrations.Migration):
    dependencies = [
        ("services", "0004_translation_status_audio_help"),
        # The template model as it is now (sms text, sample flag).
        ("notifications", "0008_template_sample_flag"),
    ]

    # Not reversed: the rows may predate this migration (see the docstring).
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
