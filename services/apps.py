from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "Dịch vụ công"

    def ready(self) -> None:
        from services import notification_kinds

        # Its notification kinds, placeholders and status labels.
        notification_kinds.register()

        from common.i18n import register_translation_source
        from services.selectors import translation_tally

        # The catalog counts towards each language's completeness (`GET languages/`).
        register_translation_source("services", translation_tally)

        from services.translations import register_translatables

        # The catalog's texts in the admin's translator view.
        register_translatables()

        from services import data_rights

        # Dossiers in a person's data export and in the closing of their account.
        data_rights.register()
