from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OnestopConfig(AppConfig):
    """The one-stop office: what composes dossiers and feedback (the admin site and its
    dashboard, statistics, demo data, channels that span both kinds of case)."""

    default = True
    name = "onestop"
    verbose_name = "Một cửa"

    def ready(self) -> None:
        from onestop.sms import data_rights

        # The SMS a person sent, in their data export and the closing of their account.
        data_rights.register()


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the staff site (`onestop.admin_site.StaffAdminSite`) as
    `admin.site`: its header, language switch and dashboard."""

    default = False
    default_site = "onestop.admin_site.StaffAdminSite"
