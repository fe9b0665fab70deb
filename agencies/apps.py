from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Cơ quan và đơn vị hành chính"
    default_auto_field = "django.db.models.BigAutoField"
