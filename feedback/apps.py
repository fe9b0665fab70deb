from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Phản ánh, kiến nghị"

    def ready(self) -> None:
        from feedback.actions import FEEDBACK
        from notifications.messages import register_kinds

        # Its notification kinds and what their templates may say.
        register_kinds(FEEDBACK.notification_kinds())

        from feedback.translations import register_translatables

        # Category names in the admin's translator view.
        register_translatables()

        from feedback import data_rights

        # Feedback in a person's data export and in the closing of their account; what
        # withdrawing `publish` undoes.
        data_rights.register()
