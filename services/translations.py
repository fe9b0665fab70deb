"""The catalog's texts in the translator view (`common.i18n.translations`)."""

from django.utils.translation import gettext_lazy as _

from common.i18n import translations
from services.models import PublicService, ServiceCategory


def register_translatables() -> None:
    translations.register(
        translations.JsonTranslatable(
            "service_category",
            _("Service categories"),
            ServiceCategory,
            fields=[translations.JsonText("name", _("Name"))],
        )
    )
    translations.register(
        translations.JsonTranslatable(
            "service",
            _("Public services"),
            PublicService,
            fields=[
                translations.JsonText("name", _("Name")),
                translations.JsonText("description", _("Description"), multiline=True),
            ],
            documents_field="required_documents",
            documents_label=_("Required document %(number)s"),
            # A withdrawn service is shown to nobody: no work for translators.
            row_filter={"is_active": True},
        )
    )
