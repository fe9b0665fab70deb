from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Phản ánh, kiến nghị"

    def ready(self) -> None:
        from feedback.translations import register_translatables

        # Category names in the admin's translator view.
        register_translatables()
