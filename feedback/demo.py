"""Demo feedback categories (dev and test only)."""

from feedback.models import FeedbackCategory

CATEGORIES = [
    ("infrastructure", {"vi": "Hạ tầng, giao thông", "en": "Roads and infrastructure"}, "commune"),
    ("environment", {"vi": "Môi trường", "en": "Environment"}, "commune"),
    ("social-welfare", {"vi": "Chính sách, trợ cấp", "en": "Allowances and welfare"}, "province"),
    ("public-order", {"vi": "An ninh, trật tự", "en": "Public order"}, "commune"),
    ("suggestion", {"vi": "Góp ý, kiến nghị", "en": "Suggestions"}, "province"),
]


def seed_feedback_demo() -> int:
    """Create or update the demo categories; returns how many there are."""
    for position, (code, name, level) in enumerate(CATEGORIES):
        FeedbackCategory.objects.update_or_create(
            code=code, defaults={"name": name, "default_level": level, "position": position}
        )
    return len(CATEGORIES)
