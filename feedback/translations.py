"""Feedback categories in the translator view (`common.i18n.translations`)."""

from django.utils.translation import gettext_lazy as _

from common.i18n import translations
from feedback.models import FeedbackCategory


def register_translatables() -> None:
    translations.register(
        translations.JsonTranslatable(
            "feedback_category",
            _("Feedback categories"),
            FeedbackCategory,
            fields=[translations.JsonText("name", _("Name"))],
        )
    )
