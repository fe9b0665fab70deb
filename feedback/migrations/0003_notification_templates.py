"""Vietnamese and English texts of the feedback notification kinds (`feedback.actions.FEEDBACK`).

The texts are data from here on: staff edit them, and add languages, in the admin. They were
seeded by migrations of `notifications` until that app stopped knowing domain words; a
database seeded then keeps its rows, a new one gets them here.
"""

from django.db import migrations

# kind: {language: (title, body[, sms])}; an empty sms falls back to title + tracking code.
TEMPLATES = {
    "feedback.submitted": {
        "vi": (
            "Đã gửi phản ánh {tracking_code}",
            "Phản ánh “{title}” đã được chuyển tới {agency_name}.",
            "",
        ),
        "en": (
            "Feedback {tracking_code} sent",
            "Your feedback “{title}” has been sent to {agency_name}.",
            "",
        ),
    },
    "feedback.accepted": {
        "vi": (
            "Phản ánh {tracking_code} đã được tiếp nhận",
            "{agency_name} đã tiếp nhận và đang xử lý phản ánh “{title}”.",
            "",
        ),
        "en": (
            "Feedback {tracking_code} accepted",
            "{agency_name} has accepted your feedback “{title}” and is handling it.",
            "",
        ),
    },
    "feedback.rejected": {
        "vi": (
            "Phản ánh {tracking_code} không được tiếp nhận",
            "{agency_name} không tiếp nhận phản ánh “{title}”. Lý do: {reason}.",
            "",
        ),
        "en": (
            "Feedback {tracking_code} not accepted",
            "{agency_name} did not accept your feedback “{title}”. Reason: {reason}.",
            "",
        ),
    },
    "feedback.duplicate": {
        "vi": (
            "Phản ánh {tracking_code} trùng với phản ánh khác",
            "Phản ánh “{title}” trùng với phản ánh {reason}. Bạn sẽ nhận được trả lời "
            "của phản ánh đó.",
            "",
        ),
        "en": (
            "Feedback {tracking_code} is a duplicate",
            "Your feedback “{title}” duplicates {reason}. You will be told when that one is "
            "answered.",
            "",
        ),
    },
    "feedback.answered": {
        "vi": (
            "Phản ánh {tracking_code} đã có trả lời",
            "{agency_name} đã trả lời phản ánh “{title}”: {reason}",
            "",
        ),
        "en": (
            "Feedback {tracking_code} answered",
            "{agency_name} answered the feedback “{title}”: {reason}",
            "",
        ),
    },
    "feedback.closed": {
        "vi": ("Phản ánh {tracking_code} đã đóng", "Phản ánh “{title}” đã được đóng.", ""),
        "en": ("Feedback {tracking_code} closed", "The feedback “{title}” is now closed.", ""),
    },
    "feedback.reopened": {
        "vi": (
            "Phản ánh {tracking_code} đã được mở lại",
            "Phản ánh “{title}” được mở lại và chuyển lại cho {agency_name}.",
            "",
        ),
        "en": (
            "Feedback {tracking_code} reopened",
            "The feedback “{title}” was reopened and is back with {agency_name}.",
            "",
        ),
    },
    "feedback.withdrawn": {
        "vi": ("Phản ánh {tracking_code} đã rút", "Bạn đã rút phản ánh “{title}”.", ""),
        "en": (
            "Feedback {tracking_code} withdrawn",
            "You have withdrawn the feedback “{title}”.",
            "",
        ),
    },
    "feedback.forwarded": {
        "vi": (
            "Phản ánh {tracking_code} được chuyển",
            "Phản ánh “{title}” đã được chuyển tới {agency_name}.",
            "",
        ),
        "en": (
            "Feedback {tracking_code} forwarded",
            "The feedback “{title}” has been forwarded to {agency_name}.",
            "",
        ),
    },
    "feedback.low_rating": {
        "vi": (
            "Trả lời phản ánh {tracking_code} bị đánh giá thấp",
            "Người gửi đánh giá {reason}/5 cho trả lời phản ánh “{title}” của {agency_name}.",
            "",
        ),
        "en": (
            "Low rating for feedback {tracking_code}",
            "The author rated the answer to “{title}” by {agency_name} {reason}/5.",
            "",
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
        ("feedback", "0002_category_translation_status"),
        # The template model as it is now (sms text, sample flag).
        ("notifications", "0008_template_sample_flag"),
    ]

    # Not reversed: the rows may predate this migration (see the docstring).
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
