"""Demo feedback categories (dev and test only)."""

from common.progress import Progress, quiet
from feedback.models import FeedbackCategory
from onestop.models import Open311Client
from onestop.open311.clients import issue_key

# English is written for the project and marked reviewed. The H'Mông (hmn) name is a
# *sample*: demo text no speaker has checked, marked so in the row's `translation_status`
# and never to be presented as reviewed.
ENGLISH_REVIEWED = {"en": "reviewed"}
SAMPLES: dict[str, dict[str, str]] = {"environment": {"hmn": "sample"}}

CATEGORIES = [
    ("infrastructure", {"vi": "Hạ tầng, giao thông", "en": "Roads and infrastructure"}, "commune"),
    ("environment", {"vi": "Môi trường", "en": "Environment", "hmn": "Ib puag ncig"}, "commune"),
    ("social-welfare", {"vi": "Chính sách, trợ cấp", "en": "Allowances and welfare"}, "province"),
    ("public-order", {"vi": "An ninh, trật tự", "en": "Public order"}, "commune"),
    ("suggestion", {"vi": "Góp ý, kiến nghị", "en": "Suggestions"}, "province"),
]
# Where petitions sent by SMS (`PA <text>`) go.
SMS_CATEGORY = "infrastructure"


def seed_feedback_demo(progress: Progress = quiet) -> int:
    """Create or update the demo categories; returns how many there are."""
    FeedbackCategory.objects.exclude(code=SMS_CATEGORY).update(sms_default=False)
    for position, (code, name, level) in enumerate(progress(CATEGORIES, desc="categories")):
        FeedbackCategory.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "default_level": level,
                "position": position,
                "sms_default": code == SMS_CATEGORY,
                "translation_status": {**ENGLISH_REVIEWED, **SAMPLES.get(code, {})},
            },
        )
    seed_open311_demo_client()
    return len(CATEGORIES)


# The Open311 client of the demo (README's curl examples use its key).
OPEN311_DEMO_CLIENT = "Demo Open311 client"
OPEN311_DEMO_KEY = "demo-open311-key"


def seed_open311_demo_client() -> Open311Client:
    client = Open311Client.objects.filter(name=OPEN311_DEMO_CLIENT).first() or Open311Client(
        name=OPEN311_DEMO_CLIENT
    )
    issue_key(client, OPEN311_DEMO_KEY)
    return client
