"""The Vietnamese and English texts of every notification kind the code sends.

From here on the texts are data: staff edit them, and add other languages, in the admin.
This migration is their only source; `notifications.messages` holds no copy.
"""

from django.db import migrations

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
}


def seed(apps, schema_editor):
    NotificationTemplate = apps.get_model("notifications", "NotificationTemplate")
    for kind, by_language in TEMPLATES.items():
        for language, (title, body) in by_language.items():
            NotificationTemplate.objects.get_or_create(
                kind=kind,
                language=language,
                defaults={"title": title, "body": body, "reviewed": True},
            )


def unseed(apps, schema_editor):
    NotificationTemplate = apps.get_model("notifications", "NotificationTemplate")
    NotificationTemplate.objects.filter(
        kind__in=list(TEMPLATES), language__in=["vi", "en"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_notification_template"),
        # The languages the templates are written in.
        ("common", "0002_seed_languages"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
