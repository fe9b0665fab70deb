"""Vietnamese and English texts of the notice an agency admin gets when a webhook
subscription is switched off (`webhooks.delivery.DISABLED_KIND`)."""

from django.db import migrations

TEMPLATES = {
    "webhook.disabled": {
        "vi": (
            "Đã tắt webhook của {agency_name}",
            "Không gửi được sự kiện tới {url} trong 24 giờ nên đăng ký webhook đã bị tắt. "
            "Kiểm tra hệ thống nhận rồi bật lại trong trang quản trị.",
        ),
        "en": (
            "Webhook of {agency_name} switched off",
            "Events could not be delivered to {url} for 24 hours, so the webhook subscription "
            "was switched off. Check the receiving system, then switch it back on in the admin.",
        ),
    },
}


def seed(apps, schema_editor):
    """Create the rows a database does not have yet; rows staff edited stay as they are."""
    NotificationTemplate = apps.get_model("notifications", "NotificationTemplate")
    for kind, by_language in TEMPLATES.items():
        for language, (title, body) in by_language.items():
            NotificationTemplate.objects.get_or_create(
                kind=kind,
                language=language,
                defaults={"title": title, "body": body, "sms": "", "reviewed": True},
            )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("notifications", "0008_template_sample_flag"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
